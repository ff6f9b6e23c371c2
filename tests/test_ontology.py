from collections import Counter
from pathlib import Path

import pytest

from insights.errors import OntologyError
from insights.ontology import get_ontology, load_ontology
from insights.ontology.loader import validate

THERAPY_AREAS = {
    "lung_cancer",
    "breast_cancer",
    "colorectal_cancer",
    "liver_hbv",
    "gastric_cancer",
    "hematology",
    "diabetes_obesity",
    "heart_failure_hypertension",
    "af_anticoagulation",
    "ra_psoriasis",
    "asthma_copd",
    "vaccines",
    "psychiatry",
    "alzheimers",
}


def test_shipped_ontology_is_valid() -> None:
    problems = validate(get_ontology())
    assert problems == [], "\n".join(problems[:30])


def test_coverage_targets() -> None:
    onto = get_ontology()
    kinds = Counter(c.kind for c in onto.concepts.values())
    assert kinds["drug"] >= 600
    assert kinds["ae"] >= 300
    drug_tas = {ta for c in onto.by_kind("drug") for ta in c.ta}
    assert drug_tas >= THERAPY_AREAS
    for kind in (
        "class",
        "regimen",
        "gene",
        "disease",
        "trial",
        "guideline",
        "endpoint",
        "therapy",
    ):
        assert kinds[kind] > 0, kind


@pytest.mark.parametrize(
    ("surface", "concept"),
    [
        ("奥希替尼", "drug:osimertinib"),
        ("泰瑞沙", "drug:osimertinib"),
        ("Tagrisso", "drug:osimertinib"),
        ("AZD9291", "drug:osimertinib"),
        ("osimertinib", "drug:osimertinib"),
        ("K药", "drug:pembrolizumab"),
        ("T+A", "regimen:atezolizumab+bevacizumab"),
        ("双艾", "regimen:camrelizumab+rivoceranib"),
        ("奥希替尼联合化疗", "regimen:osimertinib+chemo"),
        ("新四联", "regimen:hf-quadruple-therapy"),
        ("诺欣妥", "drug:sacubitril-valsartan"),
        ("信必可", "drug:budesonide-formoterol"),
        ("司美格鲁肽", "drug:semaglutide"),
        ("PD-1抑制剂", "class:pd-1-inhibitor"),
        ("PD1抑制剂", "class:pd-1-inhibitor"),
        ("间质性肺炎", "ae:interstitial-lung-disease"),
        ("化疗", "therapy:chemotherapy"),
    ],
)
def test_known_aliases(surface: str, concept: str) -> None:
    found = get_ontology().lookup(surface)
    assert found is not None, surface
    assert found.id == concept


def test_loader_rejects_clashes_and_bad_ids(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "drugs:\n  - id: drug:foo\n    zh: 福替尼\n    classes: [class:nope]\n"
        "  - id: drug:bar\n    zh: 巴替尼\n    aliases: [福替尼]\n",
        encoding="utf-8",
    )
    onto = load_ontology([tmp_path], include_shipped=False)
    problems = validate(onto)
    assert any("福替尼" in p and "drug:foo" in p and "drug:bar" in p for p in problems)
    assert any("unknown class 'class:nope'" in p for p in problems)
    (tmp_path / "b.yaml").write_text("drugs:\n  - id: Drug Foo\n    zh: x\n", encoding="utf-8")
    with pytest.raises(OntologyError, match="bad concept id"):
        load_ontology([tmp_path / "b.yaml"], include_shipped=False)
    (tmp_path / "c.yaml").write_text("widgets:\n  - id: drug:x\n", encoding="utf-8")
    with pytest.raises(OntologyError, match="unknown section"):
        load_ontology([tmp_path / "c.yaml"], include_shipped=False)


def test_same_id_in_two_files_is_merged(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "drugs:\n  - id: drug:foo\n    zh: 福替尼\n    ta: [lung_cancer]\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text(
        "drugs:\n  - id: drug:foo\n    zh: 福替尼\n    ta: [breast_cancer]\n    aliases: [福替]\n",
        encoding="utf-8",
    )
    onto = load_ontology([tmp_path], include_shipped=False)
    foo = onto.concepts["drug:foo"]
    assert foo.ta == ["lung_cancer", "breast_cancer"]
    assert onto.lookup("福替") is foo
