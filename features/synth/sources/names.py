"""Chinese names for synthetic children and guardians: surnames, given-name characters, noise.

Why: linkage weighs agreement on a name by how common it is (王 agrees with 王 far more
often by chance than 欧阳 with 欧阳), and it must tell apart children who share a
surname and a popular given name. Names drawn uniformly from a short list would make
that too easy or too hard, so surnames follow their real shares and a few full names
are far more common than the rest.

How: a name is integers, not text: a surname index into ``SURNAMES`` and one or two
given-name character indices into ``GIVEN_CHARS`` (-1 for none). Everything that varies
per child is drawn with numpy on those integers; text (traditional forms, pinyin for
homophones) is computed once per distinct character and then gathered.

- Surnames: about 100 with their shares in the 2020 census-era household register
  (王 7.12%, 李 7.00%, 张 6.62%, ...), a tail of rarer ones sharing what is left, and a
  few compound surnames (欧阳, 司马, ...) at a few in ten thousand.
- Given names: 1 or 2 characters from a few hundred common given-name characters,
  leaning by sex; a share of children (and more of the guardians) get one of the most
  popular full given names (子涵, 浩宇, 伟, 芳, ...), so that 张伟, 王芳, 王子涵 recur.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np
import opencc

from features.linkage.standardise import pinyin, surname_pinyin
from features.synth.arrays import IntArray

# surname, share in percent (household register statistics, rounded)
_SURNAME_SHARES: Final = """
王 7.12 李 7.00 张 6.62 刘 5.38 陈 4.53 杨 3.08 黄 2.23 赵 2.29 吴 2.05 周 1.97
徐 1.59 孙 1.54 马 1.45 朱 1.40 胡 1.30 郭 1.29 何 1.21 林 1.16 高 1.15 罗 1.14
郑 1.08 梁 1.02 谢 0.82 宋 0.79 唐 0.78 许 0.74 韩 0.71 邓 0.70 冯 0.69 曹 0.68
彭 0.65 曾 0.63 肖 0.61 田 0.60 董 0.59 潘 0.56 袁 0.55 蔡 0.53 蒋 0.52 余 0.51
于 0.50 杜 0.49 叶 0.48 程 0.47 魏 0.46 苏 0.45 吕 0.44 丁 0.43 任 0.42 卢 0.41
姚 0.40 沈 0.39 钟 0.38 姜 0.37 崔 0.36 谭 0.35 陆 0.34 范 0.33 汪 0.32 廖 0.31
石 0.31 金 0.30 韦 0.29 贾 0.29 夏 0.28 付 0.28 方 0.27 邹 0.26 熊 0.26 白 0.25
孟 0.25 秦 0.24 邱 0.24 侯 0.23 江 0.23 尹 0.22 薛 0.22 闫 0.21 段 0.21 雷 0.20
龙 0.20 黎 0.19 史 0.19 陶 0.18 贺 0.18 毛 0.17 郝 0.17 顾 0.16 龚 0.16 邵 0.15
万 0.15 覃 0.14 武 0.14 钱 0.14 戴 0.13 严 0.13 莫 0.12 孔 0.12 向 0.12 常 0.11
欧阳 0.03 司马 0.01 上官 0.01 诸葛 0.01 司徒 0.01 皇甫 0.005 令狐 0.003 慕容 0.002
"""
# rarer single-character surnames: they share the rest of the population equally
_TAIL_SURNAMES: Final = (
    "汤易乔赖文庞樊兰殷施洪牛左柳葛倪聂翟耿关季申伍温庄康章鲁苗柴邢单包华骆岳裴祝纪阮舒屈"
    "项麦焦车齐欧靳甘祁宁涂卓蔺蒲席邬晏郎娄房卞景佟冉解商霍滕穆谷应芦时成戚池盛全褚符宫狄"
    "鲍管边梅祖尚米桂巩冷隋薄阎邝步都艾鞠柯苑岑简荆粟仇容路宗官练晋国云井凌姬尤桑鄢"
)

_MALE_CHARS: Final = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭龙林阳建亮成博轩然睿哲泽铭昊翔航"
    "豪栋峰瑞毅鸿志宏海东锋晖坤彬诚康荣庆兴国力胜松江山川德义伦岩震源煜皓昱骏峻钧晟恒朗"
    "奕辰宸琛硕炎振永远鸣墨熙锐洋卓政祥福贵生金根佑勋彦磊凡楷桓霖崇"
)
_FEMALE_CHARS: Final = (
    "芳娜敏静丽艳娟霞秀英玲燕红梅兰婷雪琳慧莉萍颖倩欣怡萱涵琪婧璐瑶诗梦晴悦彤妍菲蕾馨露"
    "月琴洁晶薇婉淑曼珊芸岚凤桂秋春茜蓉莹瑾萌雯钰媛珍璇桐蕊琦楠娇姗妮娅婕嫣柔冰雅舒琰丹"
    "虹琼瑜悠歆韵菁茹珂晗漫灵沫汐花贞素巧芷萍蓓"
)
_NEUTRAL_CHARS: Final = (
    "子梓一雨思嘉佳文安心若可紫诺昕晓云天新家乐艺亦语依伊逸晨星书方和同言知景其以予宁清如玉"
)

# the most popular given names (children born 2000-2025; Zipf-weighted in this order)
_POPULAR_BOYS: Final = (
    "子轩", "浩宇", "宇轩", "浩然", "梓轩", "子豪", "宇航", "俊杰", "皓轩", "一鸣", "博文",
    "子墨", "奕辰", "宇辰", "梓睿", "浩轩", "明轩", "天佑", "俊熙", "梓豪", "伟", "磊", "杰",
    "涛", "浩", "宇",
)  # fmt: skip
_POPULAR_GIRLS: Final = (
    "子涵", "欣怡", "梓涵", "诗涵", "雨涵", "一诺", "梓萱", "雨桐", "可馨", "紫涵", "欣妍",
    "思涵", "梦瑶", "语桐", "芷若", "依诺", "佳怡", "静", "敏", "娜", "芳", "婷", "丽", "雪",
)  # fmt: skip
# ... and of their parents (born 1965-2000)
_POPULAR_MEN: Final = (
    "伟", "磊", "强", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞",
    "建华", "建国", "志强", "海涛", "晓东", "国强",
)  # fmt: skip
_POPULAR_WOMEN: Final = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "秀兰", "桂英", "玉兰", "丽娟",
    "晓燕", "红梅", "玲", "燕", "婷", "丹", "萍",
)  # fmt: skip


def _unique(chars: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(chars))


def _surnames() -> tuple[tuple[str, ...], np.ndarray]:
    items = _SURNAME_SHARES.split()
    names, shares = items[0::2], [float(x) for x in items[1::2]]
    tail = [c for c in _unique(_TAIL_SURNAMES) if c not in names]
    rest = max(100.0 - sum(shares), 0.0)
    names += tail
    shares += [rest / len(tail)] * len(tail)
    return tuple(names), np.asarray(shares) / sum(shares)


SURNAMES, SURNAME_P = _surnames()
_POPULAR_ALL: Final = _POPULAR_BOYS + _POPULAR_GIRLS + _POPULAR_MEN + _POPULAR_WOMEN
GIVEN_CHARS: Final = _unique(_MALE_CHARS + _FEMALE_CHARS + _NEUTRAL_CHARS + "".join(_POPULAR_ALL))
_INDEX: Final = {char: i for i, char in enumerate(GIVEN_CHARS)}
MALE_POOL: Final = np.array([_INDEX[c] for c in _unique(_MALE_CHARS + _NEUTRAL_CHARS)])
FEMALE_POOL: Final = np.array([_INDEX[c] for c in _unique(_FEMALE_CHARS + _NEUTRAL_CHARS)])
NEUTRAL_POOL: Final = np.array([_INDEX[c] for c in _unique(_NEUTRAL_CHARS)])


def _given_pairs(names: tuple[str, ...]) -> np.ndarray:
    """(k, 2) character indices of given names; -1 for a missing second character."""
    return np.array([[_INDEX[n[0]], _INDEX[n[1]] if len(n) > 1 else -1] for n in names])


POPULAR_BOYS: Final = _given_pairs(_POPULAR_BOYS)
POPULAR_GIRLS: Final = _given_pairs(_POPULAR_GIRLS)
POPULAR_MEN: Final = _given_pairs(_POPULAR_MEN)
POPULAR_WOMEN: Final = _given_pairs(_POPULAR_WOMEN)


def zipf(n: int, exponent: float = 0.8, offset: float = 3.0) -> np.ndarray:
    """Probabilities decreasing with rank (lists are ordered most common first)."""
    weights = 1.0 / (np.arange(n) + offset) ** exponent
    return np.asarray(weights / weights.sum())


def draw_surnames(rng: np.random.Generator, n: int) -> IntArray:
    """Surname indices into ``SURNAMES`` by their population shares."""
    return np.asarray(rng.choice(len(SURNAMES), size=n, p=SURNAME_P), dtype=np.int64)


def draw_chars(rng: np.random.Generator, male: np.ndarray) -> IntArray:
    """One given-name character per person, from the pool of the person's sex."""
    boys = MALE_POOL[rng.choice(len(MALE_POOL), size=len(male), p=zipf(len(MALE_POOL)))]
    girls = FEMALE_POOL[rng.choice(len(FEMALE_POOL), size=len(male), p=zipf(len(FEMALE_POOL)))]
    return np.where(male, boys, girls).astype(np.int64)


def draw_given(
    rng: np.random.Generator,
    male: np.ndarray,
    single_share: float,
    popular_share: float,
    popular: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """(n, 2) given-name character indices: 1 or 2 characters, some popular full names.

    ``popular`` holds the (male, female) tables of popular given names.
    """
    n = len(male)
    given = np.stack([draw_chars(rng, male), draw_chars(rng, male)], axis=1)
    given[rng.random(n) < single_share, 1] = -1
    for table, sex in zip(popular, (True, False), strict=True):
        chosen = (rng.random(n) < popular_share) & (male == sex)
        pick = rng.choice(len(table), size=int(chosen.sum()), p=zipf(len(table), 1.0, 2.0))
        given[chosen] = table[pick]
    return given


def reading(text: str, surname: bool = False) -> str:
    """Toneless pinyin as a name is spoken: a surname with its surname reading (覃 qin,
    单 shan), other characters one by one (linkage's own ``pinyin``)."""
    return surname_pinyin(text) if surname else pinyin(text)


@cache
def homophone_table(surnames: bool) -> tuple[np.ndarray, IntArray]:
    """For each entry of ``SURNAMES`` (``surnames``) or ``GIVEN_CHARS``: the indices of the
    other entries read the same (``reading``; padded with -1), and how many there are."""
    table = SURNAMES if surnames else GIVEN_CHARS
    groups: dict[str, list[int]] = {}
    for i, entry in enumerate(table):
        groups.setdefault(reading(entry, surnames), []).append(i)
    others = [[j for j in groups[reading(e, surnames)] if j != i] for i, e in enumerate(table)]
    matrix = np.full((len(table), max(1, *(len(o) for o in others))), -1, dtype=np.int64)
    for i, row in enumerate(others):
        matrix[i, : len(row)] = row
    return matrix, np.array([len(o) for o in others], dtype=np.int64)


def pick_homophones(rng: np.random.Generator, index: IntArray, surnames: bool) -> IntArray:
    """A homophone of each entry (index into ``SURNAMES`` or ``GIVEN_CHARS``); the entry
    itself when it has none."""
    table, counts = homophone_table(surnames)
    safe = np.maximum(index, 0)
    k = np.floor(rng.random(len(index)) * np.maximum(counts[safe], 1)).astype(np.int64)
    return np.where((index >= 0) & (counts[safe] > 0), table[safe, k], index)


def has_homophone(index: IntArray, surnames: bool) -> np.ndarray:
    _, counts = homophone_table(surnames)
    return np.asarray((index >= 0) & (counts[np.maximum(index, 0)] > 0))


@cache
def traditional(names: tuple[str, ...]) -> tuple[str, ...]:
    """The traditional form of each entry (OpenCC s2t), computed once per table."""
    converter = opencc.OpenCC("s2t")
    return tuple(converter.convert(name) for name in names)
