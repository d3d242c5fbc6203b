"""Word lists the synthetic county is built from: names, places, codes, clinical terms.

Every list is small, public knowledge and hand-written here so that the generator needs
no download and every person it makes is visibly synthetic. Weights are rough national
or south-west China frequencies; only their order of magnitude matters, because the point
is realistic collisions (many 陈伟, many 王秀英) for entity resolution to cope with.
"""

from __future__ import annotations

# (surname, weight): the common national surnames plus ones frequent in eastern Chongqing.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("陈", 60),
    ("刘", 55),
    ("李", 55),
    ("张", 50),
    ("王", 45),
    ("杨", 35),
    ("黄", 25),
    ("周", 25),
    ("谭", 22),
    ("向", 18),
    ("冉", 15),
    ("秦", 12),
    ("熊", 14),
    ("罗", 18),
    ("何", 18),
    ("邓", 16),
    ("蒋", 14),
    ("唐", 16),
    ("彭", 14),
    ("余", 13),
    ("冯", 10),
    ("吴", 16),
    ("徐", 12),
    ("胡", 14),
    ("郭", 8),
    ("马", 8),
    ("朱", 9),
    ("高", 8),
    ("林", 6),
    ("郑", 6),
    ("梁", 6),
    ("谢", 9),
    ("宋", 6),
    ("许", 6),
    ("韩", 5),
    ("曹", 5),
    ("曾", 9),
    ("肖", 8),
    ("田", 9),
    ("董", 5),
    ("袁", 7),
    ("潘", 4),
    ("蔡", 4),
    ("杜", 6),
    ("叶", 4),
    ("程", 5),
    ("苏", 4),
    ("魏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 6),
    ("姚", 4),
    ("卢", 4),
    ("钟", 5),
    ("陆", 3),
    ("汪", 3),
    ("石", 5),
    ("廖", 6),
    ("夏", 4),
    ("付", 5),
    ("邹", 5),
    ("牟", 6),
    ("龙", 4),
    ("雷", 4),
    ("贺", 4),
    ("文", 4),
    ("万", 4),
    ("汤", 3),
    ("龚", 4),
    ("严", 3),
    ("姜", 3),
)

# Given-name characters by generation: naming fashions changed a lot, and a realistic
# spread of ages needs realistic names for each age (王秀英 is 70, 王梓涵 is 7).
GIVEN_OLD_M = "国建德明华军文志成永忠平福贵祥富林海兴全清光荣启良友山云树学有发中"
GIVEN_OLD_F = "秀英兰玉桂芳珍凤琼春淑花梅素翠群琴霞莲菊金容碧萍香"
GIVEN_MID_M = "伟强勇军斌涛杰磊波刚鹏飞超辉俊峰林亮明华建平东江毅川浩兵松洪小晓"
GIVEN_MID_F = "丽娟敏静燕艳芳玲霞红梅琴蓉英莉婷雪兰慧萍丹倩洁琳君春晓小"
GIVEN_NEW_M = "浩宇子轩梓涵俊杰睿博泽铭航晨阳皓鑫宸嘉一文辰然豪翔瑞奕宏成凯家明晓天思煜锦"
GIVEN_NEW_F = "欣怡雨涵梓萱诗琪思佳可馨悦彤瑶紫晨妍婷雪语嘉一婉曦琳蕊晓静钰梦倩玥"

# Same-sounding characters (standard Mandarin, plus the in/ing and en/eng mergers of
# south-west Mandarin): a clerk writing a name heard aloud picks any of them.
_HOMOPHONE_GROUPS: tuple[str, ...] = (
    "晓小筱",
    "娟鹃",
    "明鸣铭",
    "伟玮炜",
    "静婧靖",
    "丽莉俐",
    "芳方",
    "华桦",
    "军君钧",
    "杰洁捷婕",
    "婷亭庭",
    "玲铃苓",
    "敏闽",
    "燕艳雁",
    "霞侠",
    "强蔷",
    "涛韬",
    "浩皓灏",
    "宇雨羽语",
    "欣馨新心鑫",
    "怡宜仪",
    "佳嘉家",
    "雪学",
    "梅玫",
    "兰岚蓝",
    "红虹宏鸿洪",
    "平萍苹",
    "刚钢",
    "勇永",
    "建健剑",
    "文雯闻",
    "林琳霖麟",
    "辉晖",
    "鹏朋",
    "飞菲非",
    "磊蕾",
    "凯恺",
    "俊骏峻",
    "思斯丝",
    "梓子紫",
    "涵晗含寒",
    "轩萱宣",
    "睿瑞锐",
    "航杭",
    "晨辰宸臣",
    "阳杨洋扬",
    "可珂柯",
    "诗施",
    "博波柏",
    "泽则",
    "翔祥",
    "瑶遥姚尧",
    "琪琦淇奇",
    "一依伊",
    "然燃冉",
    "豪毫",
    "奕亦逸毅",
    "成诚承",
    "天添",
    "煜昱钰玉",
    "锦瑾",
    "悦越月玥",
    "彤童桐",
    "妍言研颜",
    "婉宛",
    "曦希熙溪",
    "梦孟",
    "倩茜",
    "德得",
    "志智治",
    "忠中钟",
    "贵桂",
    "兴星新",
    "全权泉",
    "清青晴",
    "光广",
    "荣蓉容",
    "良梁",
    "山珊",
    "云芸",
    "树术",
    "淑书舒",
    "友有",
    "秀绣",
    "英瑛莺樱",
    "珍贞真",
    "凤奉",
    "春椿",
    "翠萃",
    "琴芹勤",
    "莲连涟",
    "金津今",
    "碧璧",
    "斌彬滨",
    "峰锋枫丰",
    "东冬",
    "江疆姜",
    "兵冰",
    "松嵩",
    "超朝",
    "慧惠蕙",
)
# Surnames have their own, smaller confusion sets (a clerk writes 章 for 张, never 彰).
_SURNAME_HOMOPHONE_GROUPS: tuple[str, ...] = (
    "张章",
    "陈程",
    "徐许",
    "肖萧",
    "何贺",
    "吴伍",
    "冯封",
    "付傅",
    "林凌",
    "杨阳",
    "刘柳",
    "谭覃",
)


def _confusions(groups: tuple[str, ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for group in groups:
        for ch in group:
            table[ch] = table.get(ch, "") + "".join(c for c in group if c != ch)
    return table


HOMOPHONES: dict[str, str] = _confusions(_HOMOPHONE_GROUPS)
SURNAME_HOMOPHONES: dict[str, str] = _confusions(_SURNAME_HOMOPHONE_GROUPS)

# Characters a typist hits instead (shape-alike or neighbouring in a pinyin IME list).
TYPO_POOL = "王玉土士大太天夫人入日曰目田由甲申白自己已未末今令候侯辛幸斤近明朋华化军车兰三"

# Village and township names: "<surname>家坝", "青石", "龙桥" …
PLACE_FIRST = (
    "青石龙凤桥河溪坪岭山水田沙柏松竹梅桃杨柳金银铜新老高平安太和福寿双三五七九"
    "大小东南西北中上下红白黄花云马鹿鹤"
)
PLACE_SECOND = "坝湾沟坪岭溪河桥坡岩垭塘寨堡场林滩口坎池"
VILLAGE_SURNAME_PATTERNS = ("{s}家坝", "{s}家湾", "{s}家沟", "{s}家坪", "{s}家岭", "{s}家院", "{s}家寨")

PROVINCE_NAME = "重庆市"
COUNTY_NAME = "宁川县"
COUNTY_CODE6 = "500248"
# Region codes of ID numbers issued before the county was renumbered in 1997 (when
# Chongqing became a municipality, its counties left Sichuan's 51xxxx series) and of a
# county merged into it then. Older residents still carry these on their cards.
RETIRED_COUNTY_CODES: tuple[tuple[str, str, str], ...] = (
    ("512239", "宁川县", "1997-06-18"),
    ("512240", "青岗县", "1997-06-18"),
)
RETIRED_PREFECTURE = ("512200", "宁川地区")

# Where outside people married in from, with their (real, province-valid) region codes.
ORIGIN_COUNTIES: tuple[tuple[str, str], ...] = (
    ("511722", "四川省达州市宣汉县"),
    ("511623", "四川省广安市邻水县"),
    ("520324", "贵州省遵义市正安县"),
    ("422802", "湖北省恩施土家族苗族自治州利川市"),
    ("500101", "重庆市万州区"),
    ("500154", "重庆市开州区"),
    ("500235", "重庆市云阳县"),
    ("431228", "湖南省怀化市芷江侗族自治县"),
)

# Where people go to work (外出务工), weighted toward the Pearl River Delta.
WORK_DESTINATIONS: tuple[tuple[str, int], ...] = (
    ("广东省广州市", 14),
    ("广东省深圳市", 12),
    ("广东省东莞市", 14),
    ("广东省佛山市", 6),
    ("浙江省杭州市", 6),
    ("浙江省宁波市", 5),
    ("浙江省温州市", 4),
    ("江苏省苏州市", 7),
    ("上海市", 7),
    ("北京市", 4),
    ("福建省厦门市", 4),
    ("福建省泉州市", 3),
    ("重庆市渝北区", 6),
    ("重庆市九龙坡区", 5),
    ("四川省成都市", 5),
    ("新疆维吾尔自治区乌鲁木齐市", 2),
)
# Where young adults moved their registration to (study, work, marriage).
MOVE_OUT_DESTINATIONS = (
    "重庆市沙坪坝区",
    "重庆市渝北区",
    "重庆市南岸区",
    "四川省成都市武侯区",
    "广东省东莞市",
)

ETHNICITIES: tuple[tuple[str, int], ...] = (("汉族", 90), ("土家族", 8), ("苗族", 2))

INCAPACITY_REASONS_PARENT: tuple[tuple[str, int], ...] = (("重病", 4), ("残疾", 4), ("精神障碍", 2))
# Chinese word used in sources for each reason (truth uses the same words).
INCAPACITY_ELDERLY = "年老体弱"
INCAPACITY_PRISON = "服刑"

# Disability kinds (残疾类别) with the truth's English code.
DISABILITY_KINDS: tuple[tuple[str, str, str], ...] = (
    ("visual", "视力", "H54.2"),
    ("hearing", "听力", "H90.5"),
    ("speech", "言语", "F80.9"),
    ("physical", "肢体", "G80.9"),
    ("intellectual", "智力", "F79"),
    ("mental", "精神", "F84.0"),
    ("multiple", "多重", "Q90.9"),
)
DISABILITY_LEVELS = ("一级", "二级", "三级", "四级")

# (ICD-10, Chinese display) by kind.
SERIOUS_ILLNESSES: tuple[tuple[str, str], ...] = (
    ("C91.0", "急性淋巴细胞白血病"),
    ("Q21.0", "室间隔缺损"),
    ("N04.9", "肾病综合征"),
    ("D61.9", "再生障碍性贫血"),
    ("E10.9", "1型糖尿病"),
    ("G40.9", "癫痫"),
    ("D66", "血友病A"),
)
COMMON_ILLNESSES: tuple[tuple[str, str], ...] = (
    ("J06.9", "急性上呼吸道感染"),
    ("A09.9", "感染性腹泻"),
    ("J18.9", "肺炎"),
    ("J20.9", "急性支气管炎"),
    ("B01.9", "水痘"),
    ("B08.4", "手足口病"),
    ("H66.9", "中耳炎"),
    ("K02.9", "龋齿"),
    ("L20.9", "特应性皮炎"),
    ("K35.8", "急性阑尾炎"),
)
CHECKUP_FINDINGS: tuple[tuple[str, str], ...] = (
    ("D50.9", "缺铁性贫血"),
    ("E44.1", "轻度蛋白质-能量营养不良"),
)
# Injuries (ICD-10 chapter XIX, S00–T98), with the police incident category they lead to.
INJURIES: tuple[tuple[str, str, str], ...] = (
    ("S52.5", "桡骨下端骨折", "意外伤害"),
    ("S42.0", "锁骨骨折", "意外伤害"),
    ("S06.0", "脑震荡", "意外伤害"),
    ("S01.8", "头部开放性伤口", "意外伤害"),
    ("S93.4", "踝关节扭伤", "意外伤害"),
    ("T14.0", "体表浅表损伤", "意外伤害"),
    ("S82.2", "胫骨干骨折", "意外伤害"),
    ("T20.2", "头颈部二度烧伤", "意外伤害"),
    ("T60.0", "有机磷农药中毒", "意外伤害"),
    ("T75.1", "淹溺", "溺水"),
    ("T63.0", "蛇咬伤中毒", "意外伤害"),
)
MALTREATMENT: tuple[tuple[str, str], ...] = (
    ("T74.1", "身体虐待"),
    ("T74.0", "忽视或遗弃"),
    ("T74.3", "心理虐待"),
    ("T74.2", "性虐待"),
)
ROUTINE_CHECKUP = ("Z00.1", "常规儿童健康检查")

# Height (cm) and weight (kg) medians by age in years, both sexes; boys get a little more
# after puberty. Only used to make plausible growth observations.
GROWTH: tuple[tuple[float, float, float], ...] = (
    (0.0, 50, 3.3),
    (0.25, 61, 6.2),
    (0.5, 67, 7.9),
    (0.75, 71, 8.9),
    (1, 75, 9.6),
    (1.5, 81, 10.9),
    (2, 87, 12.2),
    (2.5, 91, 13.3),
    (3, 96, 14.3),
    (4, 103, 16.3),
    (5, 110, 18.3),
    (6, 116, 20.5),
    (7, 122, 23.0),
    (8, 128, 25.5),
    (9, 133, 28.5),
    (10, 138, 32.0),
    (11, 144, 36.0),
    (12, 150, 41.0),
    (13, 156, 46.0),
    (14, 160, 50.0),
    (15, 163, 53.0),
    (16, 165, 55.0),
    (17, 166, 57.0),
    (18, 167, 58.0),
)

GRADE_NAMES: dict[int, str] = {
    -2: "小班",
    -1: "中班",
    0: "大班",
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "七年级",
    8: "八年级",
    9: "九年级",
    10: "高一",
    11: "高二",
    12: "高三",
}

DROPOUT_REASONS = ("外出打工", "厌学", "家庭经济困难", "疾病", "早婚早育", "随父母外出")

# Mobile prefixes (the three operators' common ones).
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)
