"""Summarise `insights analyze --jsonl` output for people: one block per input line."""

import json
import sys


def main() -> None:
    for line in sys.stdin:
        obj = json.loads(line)
        if "error" in obj:
            print(f"[{obj['id']}] ERROR {obj['error']}")
            continue
        ents = ", ".join(
            f"{e['text']}/{e['label']}" + (f"→{e['concept']}" if e.get("concept") else "")
            for e in obj["entities"]
        )
        print(f"[{obj['id']}] entities: {ents}")
        for s in obj["sentences"]:
            bits = [s["stance"] + (f"→{s['target']}" if s["target"] else "")]
            if s["topics"]:
                bits.append("topics=" + "|".join(s["topics"]))
            if s["unmet_need"]:
                bits.append("need=" + s["unmet_need"])
            if s["adverse_event"]:
                bits.append("ADVERSE EVENT")
            print(f"    {s['text']}  [{'; '.join(bits)}]")


if __name__ == "__main__":
    main()
