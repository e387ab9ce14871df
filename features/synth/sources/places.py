"""Places for synthetic identities: ID-number region codes, districts' Chinese names, addresses.

Why: the first six digits of a resident ID number name the county where the person's
household was registered at the time, so a local child's number carries its Beijing
district and a migrant child's number a county in the home province; and addresses are
how families without shared numbers are still found together.

How: lookup tables only (codes of GB/T 2260); ``address`` builds the text of many
addresses at once from integer draws, with polars string concatenation.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from features.synth.arrays import IntArray

# English district name (contract v1) -> (GB/T 2260 code, Chinese name, urban)
DISTRICTS: Final = {
    "Dongcheng": ("110101", "东城区", True),
    "Xicheng": ("110102", "西城区", True),
    "Chaoyang": ("110105", "朝阳区", True),
    "Fengtai": ("110106", "丰台区", True),
    "Shijingshan": ("110107", "石景山区", True),
    "Haidian": ("110108", "海淀区", True),
    "Mentougou": ("110109", "门头沟区", False),
    "Fangshan": ("110111", "房山区", False),
    "Tongzhou": ("110112", "通州区", False),
    "Shunyi": ("110113", "顺义区", False),
    "Changping": ("110114", "昌平区", False),
    "Daxing": ("110115", "大兴区", False),
    "Huairou": ("110116", "怀柔区", False),
    "Pinggu": ("110117", "平谷区", False),
    "Miyun": ("110118", "密云区", False),
    "Yanqing": ("110119", "延庆区", False),
}
DISTRICT_NAMES: Final = tuple(DISTRICTS)

# counties migrant families to Beijing come from, with rough shares of origin (percent)
PROVINCE_REGIONS: Final = (
    ("130102", 9.0),  # Hebei: Shijiazhuang Chang'an
    ("130602", 5.0),  # Hebei: Baoding Jingxiu
    ("131002", 4.0),  # Hebei: Langfang Anci
    ("130402", 3.0),  # Hebei: Handan Hanshan
    ("410102", 6.0),  # Henan: Zhengzhou Zhongyuan
    ("411602", 4.0),  # Henan: Zhoukou Chuanhui
    ("411502", 2.0),  # Henan: Xinyang Shihe
    ("370102", 5.0),  # Shandong: Jinan Lixia
    ("371302", 3.0),  # Shandong: Linyi Lanshan
    ("230102", 5.0),  # Heilongjiang: Harbin Daoli
    ("340102", 6.0),  # Anhui: Hefei Yaohai
    ("341202", 2.0),  # Anhui: Fuyang Yingzhou
    ("510104", 4.0),  # Sichuan: Chengdu Jinjiang
    ("420102", 4.0),  # Hubei: Wuhan Jiang'an
    ("140105", 4.0),  # Shanxi: Taiyuan Xiaodian
    ("150102", 3.0),  # Inner Mongolia: Hohhot Xincheng
    ("220102", 3.0),  # Jilin: Changchun Nanguan
    ("210102", 3.0),  # Liaoning: Shenyang Heping
    ("120101", 2.0),  # Tianjin: Heping
    ("320102", 3.0),  # Jiangsu: Nanjing Xuanwu
    ("430102", 3.0),  # Hunan: Changsha Furong
    ("360102", 2.0),  # Jiangxi: Nanchang Donghu
    ("620102", 2.0),  # Gansu: Lanzhou Chengguan
    ("330102", 2.0),  # Zhejiang: Hangzhou Shangcheng
    ("610102", 2.0),  # Shaanxi: Xi'an Xincheng
    ("500101", 2.0),  # Chongqing: Wanzhou
    ("440103", 1.0),  # Guangdong: Guangzhou Liwan
    ("350102", 1.0),  # Fujian: Fuzhou Gulou
    ("520102", 1.0),  # Guizhou: Guiyang Nanming
    ("530102", 1.0),  # Yunnan: Kunming Wuhua
)
PROVINCE_CODES: Final = tuple(code for code, _ in PROVINCE_REGIONS)
PROVINCE_P: Final = np.array([share for _, share in PROVINCE_REGIONS]) / sum(
    share for _, share in PROVINCE_REGIONS
)

_PLACE_WORDS: Final = (
    "和平", "幸福", "光明", "安定", "建华", "新华", "东风", "团结", "胜利", "红星", "常青",
    "金台", "安华", "花园", "翠微", "永定", "丰盛", "青塔", "望京", "双井", "劲松", "潘家园",
    "八里庄", "六里桥", "马连道", "万寿", "甘家口", "展览路", "德胜", "什刹海", "交道口",
    "东四", "和平里", "安贞", "小关", "亚运村", "学院路", "中关村", "北太平庄", "紫竹院",
    "上地", "清河", "回龙观", "天通苑", "梨园", "永顺", "北苑", "西红门", "旧宫", "亦庄",
    "黄村", "长阳", "良乡", "城关", "仁和", "胜利街", "鼓楼", "果园", "滨河", "石园", "兴谷",
)  # fmt: skip
_ESTATE_SUFFIXES: Final = ("里", "园", "苑", "北里", "南里", "东里", "西里", "小区", "家园", "")
_VILLAGE_WORDS: Final = (
    "李各庄", "王家坟", "张家湾", "马坊", "后沙峪", "前进", "东辛庄", "西辛庄", "南庄", "北庄",
    "大营", "小营", "柳林", "枣林", "杨树", "高家坟", "刘家店", "石门", "沙河", "桃园", "上庄",
    "下庄", "河北", "河南", "新村", "东街", "西街", "南关", "北关",
)  # fmt: skip


def _gather(words: tuple[str, ...] | list[str], index: IntArray) -> pl.Series:
    return pl.Series(words).gather(pl.Series(index))


def address(rng: np.random.Generator, district: IntArray) -> pl.Series:
    """One address per entry of ``district`` (indices into ``DISTRICT_NAMES``).

    Urban districts and a third of outlying addresses: street (街道), community (社区),
    building, unit and flat; the rest of outlying addresses: town (镇), village (村),
    house number.
    """
    n = len(district)
    urban = np.array([DISTRICTS[name][2] for name in DISTRICT_NAMES])[district]
    urban |= rng.random(n) < 1 / 3
    frame = pl.DataFrame(
        {
            "district": _gather([DISTRICTS[d][1] for d in DISTRICT_NAMES], district),
            "street": _gather(_PLACE_WORDS, rng.integers(0, len(_PLACE_WORDS), n)),
            "estate": _gather(_PLACE_WORDS, rng.integers(0, len(_PLACE_WORDS), n)),
            "suffix": _gather(_ESTATE_SUFFIXES, rng.integers(0, len(_ESTATE_SUFFIXES), n)),
            "village": _gather(_VILLAGE_WORDS, rng.integers(0, len(_VILLAGE_WORDS), n)),
            "building": pl.Series(rng.integers(1, 40, n)).cast(pl.String),
            "unit": pl.Series(rng.integers(1, 7, n)).cast(pl.String),
            "flat": pl.Series(rng.integers(1, 25, n) * 100 + rng.integers(1, 5, n)).cast(pl.String),
            "urban": urban,
        }
    )
    col = pl.col
    city = pl.concat_str(
        col("district"), col("street"), pl.lit("街道"), col("estate"), col("suffix"),
        pl.lit("社区"), col("building"), pl.lit("号楼"), col("unit"), pl.lit("单元"), col("flat"),
    )  # fmt: skip
    country = pl.concat_str(
        col("district"), col("street"), pl.lit("镇"), col("village"), pl.lit("村"),
        col("building"), pl.lit("号"),
    )  # fmt: skip
    return frame.select(pl.when(col("urban")).then(city).otherwise(country)).to_series()


def phones(rng: np.random.Generator, n: int) -> pl.Series:
    """Distinct 11-digit mobile numbers (1 + a carrier's second and third digits + 8)."""
    prefixes = np.array(
        [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157,
         158, 159, 166, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199]
    )  # fmt: skip
    drawn = rng.choice(len(prefixes) * 100_000_000, size=n, replace=False)
    numbers = prefixes[drawn // 100_000_000] * 100_000_000 + drawn % 100_000_000
    return pl.Series(numbers, dtype=pl.Int64).cast(pl.String)
