#!/usr/bin/env python3
"""Helper of bench/year.sh (Python 3 standard library only).

    year.py generate ROOT BENCH_DIR SCALE   # photos (once) + the project BENCH_DIR/project (once per SCALE)
    year.py edit-body BENCH_DIR ITEM_KEY    # back up ITEM_KEY's index.md, then change its first paragraph
    year.py restore BENCH_DIR               # put back every file backed up under BENCH_DIR/backup
    year.py preview WXPUB BENCH_DIR [N]     # preview start and N (5) one-edit refresh times (prints `name value…` lines)

The generated project is a museum's year (or three years) of content: long Chinese articles
with eight photographs each (real, distinct copies in each item's folder), posters and topic
pages, with the repository's publish.toml and layouts/. Generation is seeded: the same SCALE
always gives the same files.
"""
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

# Bump when the generated content changes shape: a project with another stamp is regenerated.
GENERATOR_VERSION = 1

SCALES = {
    # articles, posters, topics, distinct photos, years
    "year": dict(articles=428, posters=32, topics=10, photos=66, years=[2026]),
    "3y": dict(articles=1284, posters=96, topics=30, photos=200, years=[2026, 2027, 2028]),
}
IMAGES_PER_ARTICLE = 8  # the cover + 7 body images, 8 distinct files
MAGICK = "/usr/bin/convert"

# ------------------------------------------------------------------------------------------
# Vocabulary. Ten themes a year; each article carries one or two of its year's themes, and
# each topic page gathers one theme (plus two items by path).
THEMES = [
    ("展览", "exhibition"), ("青铜器", "bronze"), ("陶瓷", "ceramics"), ("书画", "painting"),
    ("石刻造像", "sculpture"), ("讲座", "lecture"), ("研学", "study"), ("文物保护", "conservation"),
    ("考古发现", "excavation"), ("节日活动", "festival"),
    ("玉器", "jade"), ("古建筑", "architecture"), ("民俗", "folk"), ("非遗", "heritage"),
    ("钱币", "coins"), ("碑帖", "rubbings"), ("志愿者", "volunteers"), ("文创", "design"),
    ("数字博物馆", "digital"), ("城市记忆", "memory"),
    ("丝织刺绣", "silk"), ("明清家具", "furniture"), ("青州历史", "history"), ("馆藏精品", "treasures"),
    ("读书会", "reading"), ("博物馆之夜", "night"), ("国际博物馆日", "museum-day"), ("古籍善本", "books"),
    ("金银器", "gold"), ("漆器", "lacquer"),
]

ARTIFACTS = [
    ("兽面纹青铜鼎", "商代晚期", "青铜"), ("青铜簋", "西周早期", "青铜"), ("错金银带钩", "战国", "青铜错金银"),
    ("蟠螭纹铜壶", "春秋", "青铜"), ("铜爵", "商代晚期", "青铜"), ("青花缠枝莲纹盘", "明代宣德", "瓷"),
    ("龙泉窑青瓷碗", "南宋", "瓷"), ("汝窑天青釉洗", "北宋", "瓷"), ("元青花梅瓶", "元代", "瓷"),
    ("唐三彩马", "唐代", "釉陶"), ("黑陶高柄杯", "龙山文化", "陶"), ("彩绘陶俑", "西汉", "陶"),
    ("北魏石造像", "北魏", "石灰岩"), ("东魏贴金彩绘佛立像", "东魏", "石灰岩"), ("汉画像石", "东汉", "石"),
    ("北齐菩萨像", "北齐", "石灰岩"), ("良渚玉琮", "良渚文化", "玉"), ("白玉螭龙佩", "清代", "和田玉"),
    ("玉璧", "战国", "玉"), ("山水立轴", "明代", "纸本设色"), ("行书诗卷", "清代", "纸本墨笔"),
    ("花鸟册页", "清代", "绢本设色"), ("缂丝团扇", "清代", "丝"), ("刺绣补子", "明代", "丝"),
    ("黄花梨圈椅", "明代", "黄花梨木"), ("紫檀画案", "清代", "紫檀"), ("剔红漆盒", "明代永乐", "漆木"),
    ("鎏金银盘", "唐代", "银鎏金"), ("金步摇", "北朝", "金"), ("齐刀币", "战国", "青铜"),
    ("开元通宝钱范", "唐代", "陶"), ("宋拓碑帖", "宋代", "纸"), ("宋刻本《论语》", "南宋", "纸"),
    ("衡王府石坊构件", "明代", "石"), ("木雕门楣", "清代", "木"), ("年画雕版", "清代", "梨木"),
]
PLACES = [
    "城南遗址", "龙兴寺遗址", "云门山", "驼山石窟", "范公亭", "偶园", "衡王府旧址", "青州古城",
    "苏埠屯墓地", "西辛墓地", "香山汉墓", "弥河两岸", "北关老街", "东关回族街区", "玲珑山",
    "仰天山", "昭德古街", "南阳河畔",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘"
GIVEN = ["立", "青", "明远", "晓雯", "建国", "思源", "雨桐", "文博", "海燕", "志强", "嘉怡", "子墨",
         "春华", "秋实", "一鸣", "若愚", "静安", "承泽"]
ROLES = ["策展人", "修复师", "研究馆员", "讲解员", "考古领队", "志愿者", "摄影师", "文保工程师",
         "教育专员", "副研究馆员"]
DEPARTMENTS = ["展览部", "公共教育部", "文保中心", "研究部", "典藏部", "数字部", "考古部", "青州市博物馆",
               "文创部", "志愿者服务队"]
SEASONS = ["春", "夏", "秋", "冬"]
ADJ = ["精美", "古朴", "罕见", "厚重", "灵动", "细腻", "雄浑", "典雅", "质朴", "华丽"]

SENTENCES = [
    "{place}的这次发掘始于 {year} 年春天，考古队在 {n} 米深的地层中发现了{a}。",
    "{a}的年代被确定为{period}，这一判断来自器形、纹饰和同出器物的综合比较。",
    "初看之下，{a}并不起眼，但在放大镜下，{material}表面的细部处理令人惊叹。",
    "{role}{person}说，每一次打开库房的门，都像是与古人进行一次无声的对话。",
    "从{place}到展柜，{a}走过了一段并不平坦的路，其中仅清理和加固就用了 {n} 个月。",
    "这件器物的口沿略有变形，说明它在入土之前曾被长期使用，而非专为随葬制作。",
    "纹饰的布局遵循着严格的对称原则，主纹与地纹之间层次分明，显示出工匠的高超技艺。",
    "研究人员在器物内壁发现了 {n} 处细小的铸造痕迹，这为复原当时的工艺提供了重要线索。",
    "我们常说“以物证史”，{a}正是理解{period}社会生活的一把钥匙。",
    "在古代，这类器物多用于祭祀和宴飨，它们的数量与组合往往体现着使用者的身份。",
    "为了让观众看清细节，展览设计团队为{a}专门定制了低反光玻璃和可调节色温的灯光。",
    "观众在展柜前驻足的平均时间约为 {n} 秒，远高于我们最初的预期。",
    "展厅的动线经过重新设计，从序厅到尾厅，全程约需 {n} 分钟。",
    "如果您带着孩子前来，不妨先在二层的互动区体验一下拓片和拼图游戏。",
    "修复工作的第一步是建立档案：拍照、测量、记录每一处病害的位置和程度。",
    "修复师坚持“最小干预”原则，凡是能不动的地方，绝不轻易处理。",
    "所有补配材料都必须是可逆的，将来的修复师应该能够完整地撤销今天的工作。",
    "库房的相对湿度常年控制在 {n}% 左右，温度波动不超过两摄氏度。",
    "借助三维扫描，我们第一次看清了{a}底部被锈层覆盖的铭文。",
    "这批资料的整理工作仍在进行中，相关研究成果将陆续在本馆学术集刊上发表。",
    "{season}日的午后，阳光透过{place}的树影洒在石阶上，游客三三两两地走过。",
    "老街上的石板路见证了这座城市数百年的变迁，也承载着几代人的共同记忆。",
    "讲座结束后，不少观众围着主讲人继续提问，交流一直持续到闭馆前。",
    "这次活动共吸引了 {n} 位观众参与，其中近一半是第一次走进博物馆的年轻人。",
    "孩子们在老师的带领下用软毛刷清理“文物”，认真的样子像极了真正的考古队员。",
    "研学课程分为观察、动手和分享三个环节，每个环节都有专门的辅导员陪伴。",
    "志愿者们每周轮流值守展厅，为观众提供讲解和咨询服务。",
    "据地方志记载，{place}一带早在{period}就已是人烟稠密的聚落。",
    "{a}的发现，使学界对这一区域的文化面貌有了全新的认识。",
    "与同时期的其他器物相比，它的造型更加{adj}，比例也更为协调。",
    "工匠们在有限的材料和工具条件下，创造出了至今仍令人赞叹的作品。",
    "每一件文物背后，都有一段值得被讲述的故事，而博物馆的职责就是把这些故事讲好。",
    "本次展出的 {n} 件展品中，有相当一部分是近年来新入藏的文物，首次与公众见面。",
    "展览还配套推出了语音导览，观众扫描展签上的二维码即可收听。",
    "为保护文物，展厅内请勿使用闪光灯，也请不要倚靠展柜。",
    "我们希望观众在离开展厅时，带走的不只是几张照片，还有对历史的一点好奇。",
    "数字团队把 {n} 件馆藏精品做成了高清图像，观众可以在线放大欣赏每一处细节。",
    "这座建筑始建于{period}，现存的主体结构经过了多次修缮，但仍保留着原有的格局。",
    "斗拱、梁架和彩画共同构成了传统建筑的“语言”，读懂它们需要一点耐心。",
    "非遗传承人{person}从事这门手艺已有 {n} 年，他说最难的不是技术，而是坚持。",
    "每逢节庆，博物馆都会推出特别活动，让传统习俗在今天重新焕发生机。",
    "文创团队以{a}的纹样为灵感，设计了书签、帆布袋和冰箱贴等一系列产品。",
    "在整理旧档案时，我们意外发现了一张 {year} 年拍摄的老照片，画面中的{place}与今天判若两地。",
    "这卷古籍的纸张已经十分脆弱，翻阅时必须戴上手套，并使用专用的托板。",
    "钱币虽小，却记录了一个时代的经济秩序与社会风貌。",
    "从选料、制坯到施釉、烧造，一件瓷器的诞生需要经过数十道工序。",
    "漆器的制作周期很长，一层漆需要在阴房中慢慢干透，才能进行下一道工序。",
    "这些金银器工艺精湛，錾刻、锤揲、鎏金等技法在一件器物上同时出现。",
    "书画的保存对光照极为敏感，因此这批作品每次展出不会超过 {n} 周。",
    "碑帖的拓制是一门古老的技艺，好的拓片能够清晰地再现碑刻的每一处笔画。",
]
CONNECTORS = ["", "", "", "此外，", "值得一提的是，", "换句话说，", "不过，", "与此同时，", "事实上，",
              "有意思的是，", "正因如此，", "后来，", "当然，"]
HEADINGS = [
    "出土与发现", "器物细读", "修复手记", "展览现场", "参观提示", "研究札记", "工艺之谜", "观众留言",
    "幕后故事", "历史背景", "延伸阅读", "活动回顾", "专家解读", "小知识", "编者的话", "从库房到展厅",
    "一段往事", "细节里的秘密", "如何参与", "下期预告",
]
LIST_ITEMS = [
    "开放时间：周二至周日 9:00—17:00（16:30 停止入馆）",
    "讲解服务：每日 10:00、14:30 各一场，免费",
    "预约方式：服务号菜单“预约参观”，每人限约 {n} 位",
    "寄存服务：一层服务台，大件行李请勿带入展厅",
    "清理：去除有害锈，保留稳定的锈层",
    "拼对：根据纹饰走向确定每一块残片的位置",
    "补配：补配部分远看一致、近看可辨",
    "记录：每一步操作都写进修复档案",
    "观察{a}的纹饰，找一找隐藏的动物形象",
    "在互动区亲手制作一张拓片",
    "参加每周六下午的亲子导览",
    "关注服务号，获取最新的展览与活动信息",
    "{place}：步行约 {n} 分钟，可顺路参观",
    "展期：{year} 年 {month} 月 {day} 日起",
    "适合年龄：{n} 岁以上的儿童及家长",
    "所需材料：铅笔、速写本和一颗好奇心",
]
QUOTES = [
    "文物不会说话，但它们记得一切。我们的工作，就是替它们把故事讲出来。",
    "修复不是让文物回到新的样子，而是让它继续安全地老去。",
    "一件器物的价值，不只在它本身，更在它所处的位置和与之相伴的一切。",
    "博物馆不是仓库，而是一座城市的记忆之所。",
    "我们今天做的每一个决定，都要经得起一百年后的检验。",
    "考古最迷人的地方在于，你永远不知道下一铲土下面会是什么。",
    "让孩子们爱上博物馆，比让他们记住多少知识更重要。",
    "传统不是被供奉起来的，而是在一代代人的手中活下去的。",
]
CAPTIONS = [
    "{a}局部细节", "{place}考古现场", "修复前后的对比", "展厅一角", "{role}正在工作",
    "{a}侧面", "库房中的文物架", "观众在展柜前驻足", "{place}远眺", "活动现场",
    "{a}纹饰拓片", "{season}日的博物馆庭院", "研学营的孩子们", "讲座现场", "老照片中的{place}",
]
TITLE_CORES = [
    "{a}的故事", "走近{a}", "{place}的新发现", "{a}：{adj}的{period}", "一件{a}的前世今生",
    "在{place}读懂历史", "{role}的一天", "{season}日去{place}", "细看{a}", "{a}是怎样修好的",
    "从{place}出发", "{period}的{material}器", "{theme}里的{season}天", "探访{place}",
]
TITLE_PREFIXES = ["文物故事", "展讯", "周末去哪儿", "幕后", "讲座预告", "研学", "馆藏", "考古",
                  "新春", "夏日", "秋日", "冬日", "活动回顾"]
DIGESTS = [
    "{a}首次集中展出，带您看看它背后的{period}。",
    "{role}{person}带我们走进{place}，讲述一段鲜为人知的往事。",
    "从发现到修复，{a}经历了什么？本文为您一一道来。",
    "本周末，{place}有一场特别的活动，欢迎预约参加。",
    "{n} 件展品、{m} 个单元，一篇文章带您提前看展。",
    "{season}日的博物馆，有展览、有讲座，也有一段慢下来的时光。",
]
LINKS = [
    ("本馆官网", "https://www.qzmuseum.example.cn/"),
    ("国家文物局", "https://www.ncha.gov.cn/"),
    ("往期推文", "https://mp.weixin.qq.com/s/qzmuseum-archive"),
    ("考古简报", "https://www.kaogu.example.cn/reports/qingzhou"),
]


class Writer:
    """Seeded text: the same item number always gives the same words."""

    def __init__(self, rng, themes):
        self.rng = rng
        self.themes = themes

    def fill(self, template, **fixed):
        rng = self.rng
        a = fixed.get("artifact") or rng.choice(ARTIFACTS)
        values = dict(
            a=a[0], period=a[1], material=a[2], place=rng.choice(PLACES),
            person=rng.choice(SURNAMES) + rng.choice(GIVEN), role=rng.choice(ROLES),
            n=rng.randint(3, 96), m=rng.randint(3, 8), year=rng.randint(1950, 2025),
            month=rng.randint(1, 12), day=rng.randint(1, 28), season=rng.choice(SEASONS),
            adj=rng.choice(ADJ), theme=rng.choice(self.themes)[0],
        )
        values.update({k: v for k, v in fixed.items() if k != "artifact"})
        return template.format(**values)

    def paragraph(self, artifact, sentences=None):
        count = sentences or self.rng.randint(3, 6)
        out = []
        for i, template in enumerate(self.rng.sample(SENTENCES, count)):
            s = self.fill(template, artifact=artifact)
            if i > 0:
                s = self.rng.choice(CONNECTORS) + s
            out.append(s)
        return "".join(out)


def visible_len(markdown):
    return len(re.sub(r"!\[[^\]]*\]\([^)]*\)|[#>*`\-\[\]()\s]", "", markdown))


def article_body(w, rng, images, artifact, internal_link):
    """Markdown of 3,000–6,000 visible characters: paragraphs, 3–6 headings, a list, a
    blockquote, the 7 body images spread between paragraphs, sometimes a card or a table."""
    target = rng.randint(3000, 6000)
    headings = rng.sample(HEADINGS, rng.randint(3, 6))
    blocks = [w.paragraph(artifact), w.paragraph(artifact, 3)]
    extras = ["list", "quote"] + rng.sample(["artifact", "table", "note", "link", "footnote", "internal"], 2)
    rng.shuffle(extras)
    section_lengths = []
    for h in headings:
        section_lengths.append(len(blocks))
        blocks.append("## " + h)
        for _ in range(rng.randint(2, 4)):
            blocks.append(w.paragraph(artifact))
        if extras:
            blocks.append(extra_block(extras.pop(), w, rng, artifact, internal_link))
    # Pad to the target length, a paragraph at a time, before the last heading's section ends.
    while visible_len("\n".join(blocks)) < target:
        blocks.insert(rng.randint(2, len(blocks)), w.paragraph(artifact))
    while visible_len("\n".join(blocks)) > target + 400 and len(blocks) > 12:
        candidates = [i for i, b in enumerate(blocks) if i > 1 and not b.startswith(("#", ">", "-", "1.", "|", "`", "[^"))]
        if not candidates:
            break
        del blocks[rng.choice(candidates)]
    # Interleave the 7 body images, spread evenly, never before the first paragraph.
    slots = sorted(rng.sample(range(1, len(blocks) + 1), len(images)))
    for offset, (slot, name) in enumerate(zip(slots, images)):
        caption = w.fill(rng.choice(CAPTIONS), artifact=artifact)
        title = f' "{caption}"' if rng.random() < 0.3 else ""
        blocks.insert(slot + offset, f"![{caption}]({name}{title})")
    body = "\n\n".join(blocks) + "\n"
    if "[^1]" in body:
        body += "\n[^1]: 参见本馆学术集刊 2025 年第 2 期。\n"
    return body


def extra_block(kind, w, rng, artifact, internal_link):
    if kind == "list":
        items = [w.fill(t, artifact=artifact) for t in rng.sample(LIST_ITEMS, rng.randint(3, 6))]
        if rng.random() < 0.5:
            return "\n".join(f"{i}. {t}；" for i, t in enumerate(items, 1))
        return "\n".join(f"- {t}" for t in items)
    if kind == "quote":
        who = f"——{rng.choice(ROLES)} {rng.choice(SURNAMES)}{rng.choice(GIVEN)}"
        return f"> {rng.choice(QUOTES)}\n> {who}"
    if kind == "artifact":
        name, period, material = artifact
        return (f"```artifact\nname: {name}\nperiod: {period}\nmaterial: {material}\n"
                f"dimensions: 通高 {rng.randint(8, 90)} 厘米\nnumber: QZM-{rng.randint(1990, 2025)}-{rng.randint(1, 999):04d}\n"
                f"description: {w.paragraph(artifact, 2)}\n```")
    if kind == "table":
        rows = "\n".join(f"| {w.fill('{place}')} | {rng.randint(9, 14)}:00—{rng.randint(15, 17)}:30 | 免费 |"
                         for _ in range(rng.randint(3, 5)))
        return "| 地点 | 时间 | 费用 |\n| :--- | :---: | --- |\n" + rows
    if kind == "note":
        return "```note\n" + w.paragraph(artifact, 2) + "\n```"
    if kind == "link":
        label, url = rng.choice(LINKS)
        return f"更多信息见[{label}]({url})。{w.paragraph(artifact, 2)}"
    if kind == "footnote":
        return w.paragraph(artifact, 2) + "[^1]"
    if kind == "internal":
        if internal_link:
            return f"延伸阅读：[上一期推文]({internal_link})。{w.paragraph(artifact, 2)}"
        return w.paragraph(artifact, 2)
    raise ValueError(kind)


def unique_title(w, rng, seen, theme, artifact, number):
    for attempt in range(40):
        core = w.fill(rng.choice(TITLE_CORES), artifact=artifact, theme=theme[0])
        prefix = rng.choice(TITLE_PREFIXES + [theme[0]])
        title = f"{prefix}｜{core}"
        if attempt > 20:
            title = f"{title}（{number}）"
        if len(title) <= 32 and title not in seen:
            seen.add(title)
            return title
    title = f"{theme[0]}｜第 {number} 期"
    seen.add(title)
    return title


def yaml_list(values):
    return "[" + ", ".join(values) + "]"


# ------------------------------------------------------------------------------------------
# Schedule: about 8 pushes a week: the 订阅号 every day at 18:00 (32 of those days a poster at
# 12:00 instead), the 服务号 every Tuesday at 08:00; the articles beyond one per push go into
# the 服务号's pushes first (2–3 articles, `position` 0, 1, 2), then the 订阅号's.

def schedule_year(rng, year, n_articles, n_posters):
    days = [date(year, 1, 1) + timedelta(d) for d in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    poster_days = set(rng.sample(days, n_posters))
    pushes = []  # [account, "YYYY-MM-DD HH:MM", size]
    posters = []
    for d in days:
        if d.weekday() == 1:
            pushes.append(["service", f"{d} 08:00", 1])
        if d in poster_days:
            posters.append((rng.choice(["subscription", "service"]), f"{d} 12:00"))
        else:
            pushes.append(["subscription", f"{d} 18:00", 1])
    extra = n_articles - len(pushes)
    if extra < 0:  # fewer articles than slots: drop random subscription pushes
        drop = set(rng.sample([i for i, p in enumerate(pushes) if p[0] == "subscription"], -extra))
        pushes = [p for i, p in enumerate(pushes) if i not in drop]
        extra = 0
    while extra > 0:
        open_service = [p for p in pushes if p[0] == "service" and p[2] < 3]
        pool = open_service or [p for p in pushes if p[2] < 3]
        rng.choice(pool)[2] += 1
        extra -= 1
    slots = []
    for account, when, size in sorted(pushes, key=lambda p: p[1]):
        for position in range(size):
            slots.append((account, when, position, size))
    return slots, sorted(posters, key=lambda p: p[1])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate_project(root, project, scale, photos):
    cfg = SCALES[scale]
    rng = random.Random(f"wxpub-year-{scale}")
    copy_skeleton(root, project)
    seen_titles = set()
    article_keys_by_theme = {}
    poster_keys_by_theme = {}
    previous_key = None
    years = cfg["years"]
    per_year = lambda total, i: total // len(years) + (1 if i < total % len(years) else 0)
    counter = 0
    for yi, year in enumerate(years):
        themes = THEMES[(yi * 10) % len(THEMES):(yi * 10) % len(THEMES) + 10]
        w = Writer(rng, themes)
        slots, poster_slots = schedule_year(rng, year, per_year(cfg["articles"], yi), per_year(cfg["posters"], yi))
        for account, when, position, size in slots:
            counter += 1
            theme = rng.choice(themes)
            tags = [theme[0]]
            if rng.random() < 0.5:
                second = rng.choice(themes)
                if second != theme:
                    tags.append(second[0])
            tags.append(f"{year}年度")
            artifact = rng.choice(ARTIFACTS)
            folder = f"{when[:10]}-{theme[1]}-{counter:04d}"
            key = f"articles/{folder}"
            for t in tags[:-1]:
                article_keys_by_theme.setdefault(t, []).append(key)
            names = ["cover.jpg"] + [f"photo-{k:02d}.jpg" for k in range(1, IMAGES_PER_ARTICLE)]
            sources = rng.sample(photos, IMAGES_PER_ARTICLE)
            fm = [
                "---",
                f"title: {unique_title(w, rng, seen_titles, theme, artifact, counter)}",
                f"author: {rng.choice(DEPARTMENTS + [rng.choice(SURNAMES) + rng.choice(GIVEN)])}",
                f"digest: {w.fill(rng.choice(DIGESTS), artifact=artifact)}",
                "cover: cover.jpg",
            ]
            if rng.random() < 0.3:
                fm.append(f"cover_focus: {rng.choice(['0.5,0.4', '0.4,0.5', '0.6,0.45', '0.5,0.3'])}")
            fm += [f"account: {account}", f"publish_at: {when}"]
            if size > 1:
                fm.append(f"position: {position}")
            if rng.random() < 0.3:
                fm.append(f"comments: {rng.choice(['open', 'fans', 'closed'])}")
            if rng.random() < 0.2:
                fm.append(f"source_url: https://www.qzmuseum.example.cn/articles/{folder}")
            fm.append(f"tags: {yaml_list(tags)}")
            if rng.random() < 0.15:
                fm.append(f"illustrations: [{names[rng.randint(1, IMAGES_PER_ARTICLE - 1)]}]")
            if rng.random() < 0.1:
                fm += ["videos:", f"  - title: {artifact[0]}的故事（视频）",
                       f"    duration: \"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}\"",
                       f"    kind: {rng.choice(['video', 'animation'])}"]
            fm.append("---")
            link = f"../{previous_key.split('/', 1)[1]}/" if previous_key else None
            body = article_body(w, rng, names[1:], artifact, link)
            item = project / "content" / key
            write(item / "index.md", "\n".join(fm) + "\n\n" + body)
            for name, src in zip(names, sources):
                shutil.copyfile(src, item / name)
            previous_key = key
        for account, when in poster_slots:
            counter += 1
            theme = rng.choice(themes)
            folder = f"{when[:10]}-{theme[1]}-poster-{counter:04d}"
            key = f"posters/{folder}"
            poster_keys_by_theme.setdefault(theme[0], []).append(key)
            artifact = rng.choice(ARTIFACTS)
            title = unique_title(w, rng, seen_titles, ("海报", "poster"), artifact, counter)
            fm = ["---", f"title: {title}", f"account: {account}", "image: poster.jpg", f"publish_at: {when}",
                  f"tags: {yaml_list([theme[0], '海报', f'{year}年度'])}"]
            if rng.random() < 0.3:
                fm.append("illustrations: [poster.jpg]")
            fm.append("---")
            body = f"**{w.fill('{a}', artifact=artifact)}**\n{w.paragraph(artifact, 2)}\n"
            item = project / "content" / key
            write(item / "index.md", "\n".join(fm) + "\n\n" + body)
            shutil.copyfile(rng.choice(photos), item / "poster.jpg")
        n_topics = per_year(cfg["topics"], yi)
        topic_days = [date(year, 1, 1) + timedelta(int((k + 1) * 365 / (n_topics + 1))) for k in range(n_topics)]
        for k, (d, theme) in enumerate(zip(topic_days, themes)):
            counter += 1
            folder = f"{d}-topic-{theme[1]}"
            paths = []
            if article_keys_by_theme.get(theme[0]):
                paths.append(rng.choice(article_keys_by_theme[theme[0]]))
            other_posters = [p for t, keys in poster_keys_by_theme.items() if t != theme[0] for p in keys]
            if other_posters:
                paths.append(rng.choice(other_posters))
            fm = ["---", f"title: 专题｜{year} {theme[0]}合集", f"author: {rng.choice(DEPARTMENTS)}",
                  f"digest: 一年里关于{theme[0]}的推文与海报，都在这里。", "cover: cover.jpg",
                  "account: service", f"publish_at: {d} 10:00", "gather:",
                  f"  paths: {yaml_list(paths)}", f"  tags: [{theme[0]}]", "---"]
            w2 = Writer(rng, themes)
            body = "\n\n".join(w2.paragraph(rng.choice(ARTIFACTS)) for _ in range(rng.randint(2, 4))) + "\n"
            item = project / "content" / "topics" / folder
            write(item / "index.md", "\n".join(fm) + "\n\n" + body)
            shutil.copyfile(rng.choice(photos), item / "cover.jpg")


def copy_skeleton(root, project):
    """publish.toml and layouts/ from the repository (as benches/common/mod.rs does); files
    are rewritten only when they differ, so an unchanged repository changes nothing."""
    def sync(src, dst):
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    sync(root / "publish.toml", project / "publish.toml")
    wanted = set()
    for src in sorted((root / "layouts").rglob("*")):
        rel = src.relative_to(root / "layouts")
        wanted.add(rel)
        if src.is_dir():
            (project / "layouts" / rel).mkdir(parents=True, exist_ok=True)
        else:
            sync(src, project / "layouts" / rel)
    for dst in sorted((project / "layouts").rglob("*"), reverse=True):
        if dst.relative_to(project / "layouts") not in wanted:
            shutil.rmtree(dst) if dst.is_dir() else dst.unlink()


# ------------------------------------------------------------------------------------------
# Photos: 1600×1200 JPEGs of 300–600 KB, a plasma fractal (seeded) alone, over a gradient, or
# swirled, with grain: every seed a different picture.

GRADIENTS = ["#8a6d3b-#1d3557", "#c9b79c-#3d405b", "#6b705c-#ffe8d6", "#264653-#e9c46a", "#7f5539-#ede0d4",
             "#355070-#e56b6f", "#2b2d42-#8d99ae", "#606c38-#fefae0"]


def make_photo(i, out):
    """Draws picture `i`, then picks the JPEG quality that lands its size in 300–600 KB (a
    target drawn per picture), adding grain when even quality 97 stays too small."""
    rng = random.Random(i)
    target = rng.randint(300_000, 600_000)
    attenuate = 0.2 + rng.random() * 0.4
    base = ["-seed", str(1000 + i), "-size", "1600x1200"]
    kind = i % 3
    if kind == 0:
        draw = base + ["plasma:fractal", "-blur", "0x1"]
    elif kind == 1:
        draw = base + [f"gradient:{rng.choice(GRADIENTS)}", "(", "-size", "1600x1200", "plasma:fractal",
                       "-blur", "0x2", ")", "-compose", "overlay", "-composite"]
    else:
        draw = base + ["plasma:fractal", "-blur", "0x1", "-swirl", str(rng.randint(60, 300)),
                       "-modulate", f"100,{rng.randint(60, 140)},{rng.randint(80, 120)}"]
    raw, tmp = out.with_suffix(".ppm"), out.with_suffix(".tmp")
    try:
        for _ in range(4):
            subprocess.run([MAGICK] + draw + ["-attenuate", f"{attenuate:.2f}", "+noise", "Gaussian", f"ppm:{raw}"],
                           check=True)
            low, high, best = 40, 97, None
            while low <= high:  # the highest quality whose file is at most the target
                quality = (low + high) // 2
                subprocess.run([MAGICK, f"ppm:{raw}", "-quality", str(quality), "-strip", f"jpg:{tmp}"], check=True)
                size = tmp.stat().st_size
                if size <= target:
                    best, low = quality, quality + 1
                else:
                    high = quality - 1
            if best is not None:
                subprocess.run([MAGICK, f"ppm:{raw}", "-quality", str(best), "-strip", f"jpg:{tmp}"], check=True)
                if tmp.stat().st_size >= 300_000:
                    break
            attenuate += 0.3  # too smooth (or too noisy at quality 40): change the grain, draw again
            if best is None:
                attenuate = max(0.05, attenuate - 0.6)
        tmp.rename(out)
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def ensure_photos(bench, count):
    folder = bench / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo-{i:03d}.jpg" for i in range(1, count + 1)]
    missing = [(i, p) for i, p in enumerate(paths, 1) if not p.exists() or p.stat().st_size == 0]
    if missing:
        print(f"generating {len(missing)} photos with ImageMagick…", flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for f in [pool.submit(make_photo, i, p) for i, p in missing]:
                f.result()
    return paths


def cmd_generate(root, bench, scale):
    if scale not in SCALES:
        sys.exit(f"SCALE must be one of {', '.join(SCALES)}, not {scale!r}")
    root, bench = Path(root), Path(bench)
    project = bench / "project"
    stamp = f"scale={scale} generator={GENERATOR_VERSION}\n"
    stamp_file = bench / "project.stamp"
    photos = ensure_photos(bench, SCALES[scale]["photos"])
    if project.is_dir() and stamp_file.exists() and stamp_file.read_text() == stamp:
        copy_skeleton(root, project)
        print(f"reusing {project} ({stamp.strip()})")
        return
    print(f"generating {project} ({stamp.strip()})…", flush=True)
    shutil.rmtree(project, ignore_errors=True)
    stamp_file.unlink(missing_ok=True)
    tmp = bench / "project.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    generate_project(root, tmp, scale, photos)
    tmp.rename(project)
    stamp_file.write_text(stamp)


# ------------------------------------------------------------------------------------------
# Edits, each file backed up once (its original) under BENCH_DIR/backup/ first.

def backup(bench, project, path):
    rel = path.relative_to(project)
    saved = bench / "backup" / rel
    if not saved.exists():
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, saved)


def cmd_restore(bench):
    bench = Path(bench)
    project, saved_root = bench / "project", bench / "backup"
    if not saved_root.is_dir():
        return
    for saved in sorted(saved_root.rglob("*")):
        if saved.is_file():
            shutil.copyfile(saved, project / saved.relative_to(saved_root))
    shutil.rmtree(saved_root)


def cmd_edit_body(bench, key):
    bench = Path(bench)
    project = bench / "project"
    path = project / "content" / key / "index.md"
    backup(bench, project, path)
    text = path.read_text(encoding="utf-8")
    end = text.index("\n---\n", 4) + 5
    body = text[end:]
    # A new first sentence in the first paragraph, different on every run.
    note = f"（编者按：本文于 {time.strftime('%H:%M:%S')} 修订，补充了展品信息。）"
    body = "\n" + note + body.lstrip("\n")
    path.write_text(text[:end] + body, encoding="utf-8")


def set_title(path, title):
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(r"(?m)^title: .*$", f"title: {title}", text, count=1)
    assert count == 1, path
    path.write_text(new, encoding="utf-8")


# ------------------------------------------------------------------------------------------
# Preview: time from spawn until GET / answers 200, then 5 one-edit refreshes.

def http_get(url, timeout=30):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def peak_rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmd_preview(wxpub, bench, refreshes="5", poll=0.010):
    bench, refreshes = Path(bench), int(refreshes)
    project = bench / "project"
    logs = bench / "logs"
    logs.mkdir(exist_ok=True)
    articles = sorted(p.name for p in (project / "content" / "articles").iterdir())
    # Items spread over the year (not the one the build step edits, which is at 1/2).
    picks = [articles[int(len(articles) * f)] for f in (0.05, 0.23, 0.41, 0.67, 0.89)][:refreshes]
    err = open(logs / "preview.err", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([wxpub, "-C", str(project), "preview", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=err, start_new_session=True)
    (bench / "preview.pid").write_text(str(proc.pid))

    def stop(*_):
        raise SystemExit(130)
    signal.signal(signal.SIGTERM, stop)
    url_box = []
    url_seen = threading.Event()

    def read_stdout():
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            with open(logs / "preview.out", "a") as f:
                f.write(line)
            m = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if m and not url_box:
                url_box.append(m.group(0))
                url_seen.set()
    threading.Thread(target=read_stdout, daemon=True).start()
    results = {}
    try:
        while not url_seen.wait(poll):
            if proc.poll() is not None:
                raise RuntimeError(f"preview exited with {proc.returncode}; see {logs / 'preview.err'}")
            if time.monotonic() - started > 900:
                raise RuntimeError("preview printed no URL in 900 s")
        url = url_box[0]
        while True:
            try:
                if http_get(url)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(poll)
        results["start"] = time.monotonic() - started
        if not picks:
            # The preview writes its kept renders and findings after it answers: an editor's
            # session outlasts that, a run stopped at once would lose them for the next start.
            time.sleep(5)
        times = []
        run = time.strftime("%H%M%S")
        for i, folder in enumerate(picks, 1):
            key = f"articles/{folder}"
            path = project / "content" / key / "index.md"
            backup(bench, project, path)
            version = json.loads(http_get(url + "__preview/version")[1])["version"]
            title = f"预览刷新 {run}-{i} 号"
            t0 = time.monotonic()
            set_title(path, title)
            while True:
                state = json.loads(http_get(url + "__preview/version")[1])
                if state["version"] != version:
                    version = state["version"]
                    status, page = http_get(f"{url}{key}/")
                    if status == 200 and title.encode() in page:
                        break
                    if state.get("error"):
                        raise RuntimeError(f"rebuild failed after editing {key}: {state['error'][:300]}")
                if time.monotonic() - t0 > 600:
                    raise RuntimeError(f"{key}: the new title did not show within 600 s")
                if proc.poll() is not None:
                    raise RuntimeError(f"preview exited with {proc.returncode}")
                time.sleep(poll)
            times.append(time.monotonic() - t0)
        results["refreshes"] = times
        results["rss_kb"] = peak_rss_kb(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        (bench / "preview.pid").unlink(missing_ok=True)
        cmd_restore(bench)
    print(f"preview_start {results['start']:.3f} {results['rss_kb']}")
    if results["refreshes"]:
        print(f"preview_refresh {statistics.median(results['refreshes']):.3f} {max(results['refreshes']):.3f} "
              + " ".join(f"{t:.2f}" for t in results["refreshes"]))


def main(argv):
    if len(argv) >= 2 and argv[1] == "generate" and len(argv) == 5:
        cmd_generate(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "edit-body" and len(argv) == 4:
        cmd_edit_body(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "restore" and len(argv) == 3:
        cmd_restore(argv[2])
    elif len(argv) >= 2 and argv[1] == "preview" and len(argv) in (4, 5):
        cmd_preview(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
