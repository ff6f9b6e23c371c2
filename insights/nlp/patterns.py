"""Regular-expression entity patterns for forms a dictionary cannot list.

People (王主任, 小刘, 李教授), institutions (……医院, ……肿瘤防治中心), gene variants (T790M, G12C,
19外显子缺失) and named-study codes. Dictionary matches win over these where spans overlap.
"""

from __future__ import annotations

import re

from insights.doc import Entity

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪"
    "梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车"
    "项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲"
    "虞敖巩明佘池查麻苑迟邝"
)
TITLES = "主任|医生|大夫|教授|老师|院长|博士|护士长|药师|主治|老太太|老爷子|阿姨|大爷|大妈|女士|先生"

_PERSON = re.compile(
    rf"[{SURNAMES}](?:{TITLES})"  # 王主任, 李教授
    rf"|(?<![\u4e00-\u9fff])[小老][{SURNAMES}](?=$|[^\u4e00-\u9fff]|[说的他她那跟讲也来去和])"  # 小刘
)
# Institution names: a short run of name characters before an institution suffix. Function
# words (的, 了, 不, 我们 ...) never occur inside a name, so they bound the match.
_NAME_CHARS = (
    r"[^\W\d_的了不往我你他她们可在是去来也很就都还要这那说能会着过把被给让对从到跟与或但个些吗呢吧啊嗯]"
)
_ORG = re.compile(
    rf"{_NAME_CHARS}{{2,10}}(?:附属医院|人民医院|中医院|肿瘤医院|医院|肿瘤防治中心|医学中心|卫生院|疾控中心"
    r"|大学|医学院|研究所|研究院|药业|制药)"
)
_ORG_BAD_PREFIX = re.compile(r"^(?:咱们|本地|县里|市里|省里|其他|别的|各大|大|小|一些|几家|这家|那家)+")
_VARIANT = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]\d{2,4}(?:[A-Z]|del|ins|fs)(?![A-Za-z0-9])"  # T790M, G12C, V600E
    r"|\d{1,2}(?:号)?外显子(?:缺失|插入|突变|跳跃突变|跳跃)?"  # 19外显子缺失, 20号外显子插入
    r"|(?i:exon\s?\d{1,2}\s?(?:deletion|insertion|skipping)?)"
)


def find_patterns(norm: str) -> list[Entity]:
    out: list[Entity] = []
    for m in _PERSON.finditer(norm):
        out.append(Entity(m.start(), m.end(), "PERSON", m.group(), None, "pattern", 0.8))
    for m in _ORG.finditer(norm):
        start = m.start()
        prefix = _ORG_BAD_PREFIX.match(m.group())
        if prefix:
            start += prefix.end()
        if m.end() - start >= 4:
            out.append(Entity(start, m.end(), "ORG", norm[start : m.end()], None, "pattern", 0.7))
    for m in _VARIANT.finditer(norm):
        out.append(Entity(m.start(), m.end(), "GENE", m.group(), None, "pattern", 0.9))
    return out
