"""Regenerate corpus.jsonl: handwritten lines plus disguised variants (deterministic).

Run from the repository root:  .venv/bin/python tests/screening/make_corpus.py

Labels: a list of categories ("contact", "bribe", "payment"), [] for a clean message, or
["refusal"] for an agent declining. Every line carries a ``tag`` naming the disguise or the
context it exercises, so a failing line says what it was meant to test.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

C, A = "customer", "agent"
CT, BR, PY = "contact", "bribe", "payment"

# ---- positives: (role, text, labels, tag) ---------------------------------------------------
POSITIVE: list[tuple[str, str, list[str], str]] = [
    # plain contact requests
    (C, "加我微信吧，这样聊方便点", [CT], "plain"),
    (C, "你微信多少？我加你", [CT], "plain"),
    (C, "能不能加个微信，平台消息老是延迟", [CT], "plain"),
    (A, "亲，加我微信我给你单独处理", [CT], "plain"),
    (A, "你加一下我的私人微信，后面有问题直接找我", [CT], "plain"),
    (C, "我的微信号是 lily_2023，加一下", [CT], "plain"),
    (A, "我们私聊吧，这里说话不方便", [CT], "plain"),
    (C, "留个电话给我，我晚上打给你", [CT], "plain"),
    (A, "你电话多少，我下班打给你", [CT], "plain"),
    (C, "我手机号13812345678，直接打我", [CT], "plain"),
    (A, "有事直接打我电话 139 0011 2233", [CT], "plain"),
    (C, "加我QQ 12345678 吧", [CT], "plain"),
    (A, "我的QQ号是 87654321，上面聊", [CT], "plain"),
    (C, "你有钉钉吗？加个钉钉好友", [CT], "plain"),
    (A, "支付宝加个好友吧，我的支付宝账号就是手机号", [CT], "plain"),
    (C, "Add me on WeChat, my ID is jack_88", [CT], "plain-en"),
    (C, "What's your WhatsApp? Let's talk there", [CT], "plain-en"),
    (A, "You can reach me on Telegram @fastfix_lee", [CT], "plain-en"),
    (C, "Just email me at lily.wang@gmail.com and we can sort it out", [CT], "plain-en"),
    (A, "Call me at 138 0013 8000 after 6pm", [CT], "plain-en"),
    (C, "Can we continue this on WeChat? It is easier", [CT], "plain-en"),
    (A, "DM me on Instagram or text me, my number is 186 1234 5678", [CT], "plain-en"),
    (C, "我们换个地方聊吧，这里都被记录了", [CT], "plain"),
    (A, "平台上不方便说，你私信我", [CT], "plain"),
    (C, "以后直接找我就行，别在这里聊了，加我好友", [CT], "plain"),
    (A, "我把我的私人号码发你，记一下：158-0000-1234", [CT], "plain"),
    (C, "微信联系我，号码同手机", [CT], "plain"),
    (A, "我们到线下聊吧，私下联系更快", [CT], "plain"),
    (C, "我邮箱 zhangwei1990@163.com 你发我", [CT], "plain"),
    (A, "有问题加我钉钉 dt_zhao2020", [CT], "plain"),
    (C, "send me your whatsapp number pls", [CT], "plain-en"),
    (A, "let's move this chat to wechat, add me: kevin_w99", [CT], "plain-en"),
    # bribes
    (C, "我给你发个红包，帮我把退款加急一下", [BR], "plain"),
    (C, "事成之后给你包个大红包", [BR], "plain"),
    (C, "你帮我通融一下，给你200辛苦费", [BR], "plain"),
    (C, "这点茶水费你收下，帮帮忙", [BR], "plain"),
    (A, "给点好处费，我就帮你优先处理", [BR], "plain"),
    (A, "你懂的，意思一下我马上给你办", [BR], "plain"),
    (C, "退款下来我分你一半", [BR], "plain"),
    (C, "帮我多申请点补偿，回扣少不了你", [BR], "plain"),
    (C, "送你一张500的京东卡，就当感谢", [BR], "plain"),
    (C, "我给你充100话费，你帮我把差评删了", [BR], "plain"),
    (A, "加急的话要给点辛苦费哦，你懂的", [BR], "plain"),
    (C, "我请你喝奶茶，帮我通过一下审核", [BR], "plain"),
    (C, "给你发了个微信红包，记得收一下", [BR], "plain"),
    (C, "谢谢你帮忙，一点小意思，请收下", [BR], "plain"),
    (A, "想快点的话，表示表示就行", [BR], "plain"),
    (C, "I'll give you a little something for your trouble", [BR], "plain-en"),
    (C, "I can send you a red envelope if you approve my refund today", [BR], "plain-en"),
    (A, "A small tip would help me push your case through faster", [BR], "plain-en"),
    (C, "I'll buy you a coffee if you can get this done", [BR], "plain-en"),
    (C, "how about a kickback, 10% of the refund is yours", [BR], "plain-en"),
    (A, "if you want priority, a gift card would make it worth my while", [BR], "plain-en"),
    (C, "我私下给你转点钱，你帮我把订单改一下", [BR, PY], "plain"),
    (C, "等事情办成了给你送点礼物", [BR], "plain"),
    (C, "我给你买杯奶茶，你给我多补偿点", [BR], "plain"),
    (A, "帮你搞定的话，请我吃顿饭不过分吧", [BR], "plain"),
    (C, "这单成了给你返点，五五分", [BR], "plain"),
    (C, "兄弟帮个忙，完事给你包红包", [BR], "plain"),
    # payments
    (A, "这单不走平台了，你直接转给我，便宜50", [PY], "plain"),
    (C, "能不能私下交易？平台手续费太高了", [PY], "plain"),
    (A, "扫我的个人收款码付款就行", [PY], "plain"),
    (A, "钱转到我个人账户，我马上给你发货", [PY], "plain"),
    (A, "直接打到我卡上：6222 0212 3456 7890 128", [PY], "plain"),
    (C, "我把钱直接转你支付宝吧，省得麻烦", [PY], "plain"),
    (A, "你V我50，我帮你安排", [PY], "plain"),
    (A, "线下交易更优惠，不用走平台", [PY], "plain"),
    (A, "Just pay me directly, it's cheaper than going through the app", [PY], "plain-en"),
    (A, "Transfer the money to my personal account and I'll ship today", [PY], "plain-en"),
    (C, "can I pay you outside the platform? the fee is too high", [PY], "plain-en"),
    (A, "我的银行卡号 6217 0033 2211 4455 667，转这个", [PY], "plain"),
    (A, "付款用这个码，是我自己的收款码", [PY], "plain"),
    (C, "我直接微信转你吧，不在平台付了", [PY], "plain"),
    (A, "绕过平台下单，我给你打八折", [PY], "plain"),
    (A, "你先转我定金，货到了再付尾款", [PY], "plain"),
    # disguises: abbreviations and slang
    (C, "加个vx呗", [CT], "slang"),
    (C, "wx多少", [CT], "slang"),
    (A, "绿泡泡聊，这里不方便", [CT], "slang"),
    (C, "有扣扣吗，扣扣上说", [CT], "slang"),
    (A, "企鹅号 556677889 加我", [CT], "slang"),
    (C, "加个V，我发你资料", [CT], "slang"),
    (C, "+v 详聊", [CT], "slang"),
    (A, "我vx是 wang8899，你搜一下", [CT], "slang"),
    (C, "给你发个hb，帮我快点", [BR], "slang"),
    (C, "🧧已经准备好了，帮我加急", [BR], "slang"),
    (C, "🧧🧧🧧 帮个忙呗", [BR], "slang"),
    (A, "飞机号 @cs_lee 上面聊", [CT], "slang"),
    (C, "tg联系 @abc_shop", [CT], "slang"),
    (A, "你加我小号吧，这个号被监控了", [CT], "slang"),
    # disguises: homophones and look-alikes
    (C, "加我薇信", [CT], "homophone"),
    (C, "威信多少，我加你", [CT], "homophone"),
    (A, "维信号 abc12345", [CT], "homophone"),
    (C, "加徽信聊", [CT], "lookalike"),
    (A, "我威芯 xiaoli_66", [CT], "homophone"),
    (C, "给你发个虹包，帮我处理一下", [BR], "homophone"),
    (C, "鸿包给你，帮个忙", [BR], "homophone"),
    (A, "口口号 12345678", [CT], "homophone"),
    (C, "微芯聊吧", [CT], "homophone"),
    (C, "加我为信", [CT], "homophone"),
    # disguises: pinyin
    (C, "jia wo wei xin", [CT], "pinyin"),
    (C, "weixin: abc_987", [CT], "pinyin"),
    (C, "gei ni fa hongbao, bang wo kuai dian", [BR], "pinyin"),
    (A, "jia wo weixin ba", [CT], "pinyin"),
    (C, "hongbao给你", [BR], "pinyin"),
    (C, "koukou号 445566778", [CT], "pinyin"),
    (C, "zhifubao zhuan ni", [PY], "pinyin"),
    # disguises: mixed script
    (C, "加我V信", [CT], "mixed"),
    (C, "wei信聊", [CT], "mixed"),
    (C, "给你个红bao，帮帮忙", [BR], "mixed"),
    (A, "加我wei xin，号码同手机", [CT], "mixed"),
    (C, "发你hong包，帮我通过", [BR], "mixed"),
    # disguises: inserted separators
    (C, "加 我 微 信", [CT], "spaces"),
    (C, "加.我.微.信", [CT], "punct"),
    (C, "加-我-v-x", [CT], "punct"),
    (C, "微😊信😊聊", [CT], "emoji"),
    (C, "红★包★给★你", [BR], "symbols"),
    (A, "私|聊", [CT], "symbols"),
    (C, "给你发个红\u200b包", [BR], "zero-width"),
    (A, "不 走 平 台，直 接 转 我", [PY], "spaces"),
    # disguises: full width, case, traditional
    (C, "加我ＶＸ：ａｂｃ１２３", [CT], "fullwidth"),
    (C, "ＷＥＣＨＡＴ: tom_2024", [CT], "fullwidth"),
    (C, "加我微信，號碼１３８１２３４５６７８", [CT], "fullwidth"),
    (C, "給你發個紅包，幫我加急", [BR], "traditional"),
    (A, "私聊吧，加我的微信號", [CT], "traditional"),
    (A, "錢轉到我個人賬戶", [PY], "traditional"),
    (C, "Add Me On WeChat", [CT], "case"),
    (C, "VX: Lucy_520", [CT], "case"),
    # phones in disguise
    (C, "我电话一三八一二三四五六七八", [CT], "cn-numerals"),
    (C, "打我手机 幺三八 幺二三四 五六七八", [CT], "yao"),
    (A, "联系我：壹叁捌零零壹叁捌零零零", [CT], "capital-numerals"),
    (C, "号码 ①③⑧①②③④⑤⑥⑦⑧", [CT], "circled"),
    (C, "手机 138-1234-5678", [CT], "split"),
    (C, "电话 138.1234.5678", [CT], "split"),
    (C, "+86 138 1234 5678 打我", [CT], "plus86"),
    (C, "8613812345678 这是我电话", [CT], "plus86"),
    (C, "我电话是138，中间是1234，最后是5678", [CT], "spread"),
    (A, "手机号前三位139，后面是0011，再后面2233", [CT], "spread"),
    (C, "１３８ １２３４ ５６７８", [CT], "fullwidth-digits"),
    (C, "13８1２3４5６7８", [CT], "mixed-width"),
    (C, "call me: one three eight... just kidding, 13812345678", [CT], "plain-en"),
    (C, "打我 13 81 23 45 67 8", [CT], "split"),
    (C, "幺八六 幺二三四 五六七八 微信同号", [CT], "yao"),
    (A, "电话 一五八 零零零零 一二三四", [CT], "cn-numerals"),
]

# ---- negatives ------------------------------------------------------------------------------
NEGATIVE: list[tuple[str, str, list[str], str]] = [
    # ordinary service
    (C, "你好，我的订单怎么还没发货？", [], "service"),
    (A, "您好，请问有什么可以帮您？", [], "service"),
    (A, "亲，您的包裹已经在派送中了，请耐心等待", [], "service"),
    (C, "这个衣服尺码偏大吗？", [], "service"),
    (A, "这款是标准尺码，建议按平时的码数购买", [], "service"),
    (C, "可以开发票吗？", [], "service"),
    (A, "可以的，下单时填写发票抬头即可", [], "service"),
    (C, "东西收到了，质量很好，谢谢", [], "service"),
    (A, "感谢您的支持，祝您生活愉快！", [], "service"),
    (C, "我想退货，怎么操作？", [], "service"),
    (A, "您在订单详情页点击申请退货，填写原因后提交即可", [], "service"),
    (C, "快递员说放驿站了，但我没看到", [], "service"),
    (A, "我帮您联系一下快递公司核实，请稍等", [], "service"),
    (C, "什么时候补货？", [], "service"),
    (A, "预计下周三补货，您可以先收藏商品", [], "service"),
    (C, "Hi, where is my parcel?", [], "service-en"),
    (A, "Your order has shipped and should arrive within 3 days.", [], "service-en"),
    (C, "Can I change the delivery address?", [], "service-en"),
    (A, "Sure, please give me the new address and I'll update it.", [], "service-en"),
    (C, "The item arrived damaged, what should I do?", [], "service-en"),
    (A, "Sorry! Please upload a photo and we'll arrange a replacement.", [], "service-en"),
    (C, "thanks a lot, you were very helpful", [], "service-en"),
    (A, "You're welcome, have a nice day!", [], "service-en"),
    # official payment methods
    (C, "可以用微信支付吗？", [], "official-payment"),
    (A, "支持微信支付和支付宝，在App内下单时选择即可", [], "official-payment"),
    (C, "我用支付宝付款失败了，怎么回事", [], "official-payment"),
    (A, "请在收银台重新选择微信支付，或更换银行卡支付", [], "official-payment"),
    (C, "微信付款后订单还是显示待支付", [], "official-payment"),
    (A, "支付宝付款成功后一般1分钟内更新订单状态", [], "official-payment"),
    (C, "can I pay with WeChat Pay?", [], "official-payment"),
    (A, "Yes, WeChat Pay and Alipay are both supported at checkout.", [], "official-payment"),
    (C, "花呗可以分期吗", [], "official-payment"),
    (C, "为什么我的微信零钱扣了两次款", [], "official-payment"),
    (A, "请在App里绑定银行卡后再支付", [], "official-payment"),
    (C, "我想用信用卡支付可以吗", [], "official-payment"),
    (C, "微信小程序里能下单吗？", [], "official-payment"),
    (A, "可以的，微信搜索我们的小程序即可下单", [], "official-payment"),
    # refunds
    (A, "退款将原路退回到您的支付账户，1-3个工作日到账", [], "refund"),
    (C, "退款退到哪里？微信还是银行卡？", [], "refund"),
    (A, "您用微信支付的，退款会原路退回微信零钱", [], "refund"),
    (C, "退款什么时候到账", [], "refund"),
    (A, "Your refund will go back to the original payment method.", [], "refund"),
    (C, "我已经申请退款了，请尽快处理", [], "refund"),
    (A, "退款已经提交，请留意支付宝账户的到账通知", [], "refund"),
    (C, "钱退到我银行卡了吗", [], "refund"),
    # coupons called 红包
    (C, "红包怎么使用？", [], "coupon"),
    (A, "平台给您发放了一个5元无门槛红包，下单时自动抵扣", [], "coupon"),
    (C, "新人红包在哪里领取？", [], "coupon"),
    (A, "您可以在我的-红包页面查看可用红包", [], "coupon"),
    (C, "我的红包过期了能补发吗", [], "coupon"),
    (A, "很抱歉，作为补偿，给您账户发放了一个10元红包", [], "coupon"),
    (C, "满减红包和优惠券可以一起用吗", [], "coupon"),
    (A, "店铺红包已发放到您的账户，有效期7天", [], "coupon"),
    (C, "红包雨活动几点开始", [], "coupon"),
    (C, "下单红包为什么没有到账", [], "coupon"),
    (A, "红包抵扣的金额退款时会退回到红包账户", [], "coupon"),
    (C, "How do I use the platform red envelope coupon?", [], "coupon"),
    (A, "签到领红包，连续签到7天可以领大额红包", [], "coupon"),
    (C, "我抢的红包怎么用不了", [], "coupon"),
    (A, "亲，给您补发了一个红包，在App里的优惠券页面可以看到", [], "coupon"),
    # order / tracking / dates / amounts / model numbers
    (C, "订单号 202405121234567890，帮我查一下", [], "order-number"),
    (A, "您的运单号是 SF1234567890123，可以在顺丰官网查询", [], "tracking"),
    (C, "快递单号 YT7788990011223", [], "tracking"),
    (C, "订单 15012345678 还没发货", [], "order-number"),
    (A, "您的订单金额是 1380.00 元，已经支付成功", [], "amount"),
    (C, "我是2024年5月12日下的单", [], "date"),
    (C, "2024-05-12 13:45 下单的", [], "date"),
    (A, "型号 SM-G9910，12GB+256GB，黑色", [], "model"),
    (C, "iPhone 15 Pro Max 256G 还有货吗", [], "model"),
    (C, "小米13 和小米14 哪个好", [], "model"),
    (A, "订单编号 6228480402564890018 已经退款", [], "order-number"),
    (C, "取件码 3-2-1108", [], "order-number"),
    (C, "会员号 100023456789", [], "order-number"),
    (A, "工单号 138120450001 已经为您升级处理", [], "order-number"),
    (C, "我买了3件，一共花了299元", [], "amount"),
    (A, "退款金额 138.50 元", [], "amount"),
    (C, "Order #13812345678901 hasn't arrived", [], "order-number"),
    (C, "tracking number 1Z999AA10123456784", [], "tracking"),
    (C, "IMEI 356938035643809 的手机能保修吗", [], "model"),
    (C, "订单尾号5678那个", [], "order-number"),
    # official hotlines
    (A, "如有疑问请拨打官方客服热线 400-820-8820", [], "hotline"),
    (C, "你们客服电话是多少？", [], "hotline"),
    (A, "官方热线 400 123 4567，工作日9点到18点", [], "hotline"),
    (A, "You can also call our hotline 800-810-1234.", [], "hotline"),
    (A, "银行客服 95588 可以查询", [], "hotline"),
    (C, "拨打 4008123123 没人接", [], "hotline"),
    # identity verification
    (A, "为了核实身份，请提供下单手机号的后四位", [], "verify"),
    (C, "手机尾号 5678", [], "verify"),
    (A, "请告诉我收货手机号后四位，我帮您查询", [], "verify"),
    (A, "Please confirm the last four digits of the phone number on the order.", [], "verify"),
    (C, "后四位是1234", [], "verify"),
    # scam reports and questions
    (C, "有人加我微信说是你们客服，要我转账，是真的吗？", [], "report"),
    (C, "有个自称客服的人让我加他QQ退款，是骗子吧", [], "report"),
    (C, "这个微信号是你们官方的吗？", [], "report"),
    (C, "有人打电话说我的订单有问题要我转账到他的银行卡，是诈骗吗", [], "report"),
    (C, "I got a message asking me to pay outside the platform, is this a scam?", [], "report"),
    (C, "Someone claiming to be your agent added me on WeChat, is this real?", [], "report"),
    (C, "我想举报一个冒充客服的骗子，他让我扫他的收款码", [], "report"),
    (C, "收到短信说加微信领红包，是你们发的吗", [], "report"),
    (C, "这个号码 13812345678 打给我说是客服，是你们的人吗？", [], "report"),
    (C, "是不是官方客服会让我加企业微信？", [], "report"),
    # compliance warnings
    (A, "温馨提示：请勿向任何个人账户转账，谨防诈骗", [], "warning"),
    (A, "我们不会要求您添加私人微信或QQ，请在平台内沟通", [], "warning"),
    (A, "请不要私下交易，平台之外的付款无法保障", [], "warning"),
    (A, "Please do not transfer money to personal accounts.", [], "warning"),
    (A, "Our staff will never ask you to add them on WeChat.", [], "warning"),
    (A, "为保障您的权益，请勿脱离平台交易", [], "warning"),
    (A, "切勿扫描陌生人发送的收款码", [], "warning"),
    (A, "客服不会以任何理由索要红包或好处费", [], "warning"),
    (A, "提醒：不要把银行卡号发给任何人", [], "warning"),
    (C, "我不加微信的，就在这里说吧", [], "warning"),
    # phones as products
    (C, "我的手机屏幕碎了，能保修吗", [], "phone-product"),
    (C, "这款手机支持双卡吗？", [], "phone-product"),
    (A, "这款手机有三种颜色可选", [], "phone-product"),
    (C, "手机壳和手机是一起发货吗", [], "phone-product"),
    (C, "我想买个电话手表给孩子", [], "phone-product"),
    (C, "my phone won't turn on after the update", [], "phone-product"),
    (A, "The phone comes with a 2-year warranty.", [], "phone-product"),
    (C, "老人机有没有大字体的", [], "phone-product"),
    (C, "手机号换了，怎么修改绑定的手机号", [], "account"),
    (A, "您可以在账户设置里修改绑定手机号", [], "account"),
    # dangerous-looking but clean
    (C, "微信登录不了怎么办", [], "lookalike-clean"),
    (C, "能用微信账号登录吗", [], "lookalike-clean"),
    (A, "订单状态会通过微信通知推送给您", [], "lookalike-clean"),
    (C, "我想关注你们的官方公众号", [], "lookalike-clean"),
    (C, "红宝石项链有证书吗", [], "lookalike-clean"),
    (C, "你们卖企鹅玩偶吗", [], "lookalike-clean"),
    (C, "这个QQ音乐会员怎么充值", [], "lookalike-clean"),
    (C, "充话费怎么没到账", [], "lookalike-clean"),
    (C, "话费充值100元显示成功但没到账", [], "lookalike-clean"),
    (C, "礼品卡怎么激活？", [], "lookalike-clean"),
    (C, "购物卡可以在网上用吗", [], "lookalike-clean"),
    (A, "您购买的京东卡卡密已发送到订单详情", [], "lookalike-clean"),
    (C, "这个包多少钱", [], "lookalike-clean"),
    (C, "给你添麻烦了，谢谢", [], "lookalike-clean"),
    (C, "辛苦了，谢谢你", [], "lookalike-clean"),
    (A, "不好意思让您久等了", [], "lookalike-clean"),
    (C, "我要转人工客服", [], "lookalike-clean"),
    (A, "已为您转接人工客服，请稍候", [], "lookalike-clean"),
    (A, "您的问题我已经转给我们的技术部门了", [], "lookalike-clean"),
    (C, "能不能帮我加急发货", [], "lookalike-clean"),
    (C, "可以加购物车吗", [], "lookalike-clean"),
    (C, "我要加一件同款", [], "lookalike-clean"),
    (A, "请您私信店铺管理员开具专票", [], "lookalike-clean"),
    (C, "分期付款要手续费吗", [], "lookalike-clean"),
    (C, "你们有线下门店吗", [], "lookalike-clean"),
    (A, "线下门店和线上价格一致", [], "lookalike-clean"),
    (C, "这个饲料适合几个月的小狗", [], "lookalike-clean"),
    (C, "威信力很强的品牌", [], "lookalike-clean"),
    (C, "积分可以换话费吗", [], "lookalike-clean"),
    (C, "我想送个礼物给朋友，有礼盒包装吗", [], "lookalike-clean"),
    (A, "可以的，下单备注礼盒包装即可", [], "lookalike-clean"),
    (C, "这个红色的包还有吗", [], "lookalike-clean"),
    (C, "红包装的那款是限量版吗", [], "lookalike-clean"),
    (C, "我一共买了一二三四五件", [], "lookalike-clean"),
    (C, "第一次买，有什么优惠吗", [], "lookalike-clean"),
    (C, "三八节有活动吗", [], "lookalike-clean"),
    (C, "Is there a discount for new customers?", [], "lookalike-clean"),
    (C, "I want to add one more item to my order", [], "lookalike-clean"),
    (A, "Please add the item to your cart and check out again.", [], "lookalike-clean"),
    (C, "review: the bag looks great", [], "lookalike-clean"),
    (C, "can you tip the delivery guy through the app?", [], "lookalike-clean"),
    (A, "Our gift cards can be used on the app and in stores.", [], "lookalike-clean"),
    (C, "the wax seal on the box was broken", [], "lookalike-clean"),
    (C, "QQ登录和微信登录有什么区别", [], "lookalike-clean"),
    (A, "您可以在App的个人中心查看订单", [], "lookalike-clean"),
    (C, "我在个人中心找不到发票", [], "lookalike-clean"),
    (A, "请把电子发票发送到您的邮箱 invoice@example.com 吗？", [], "lookalike-clean"),
    (C, "发票请发到我邮箱 zhang@company.cn，谢谢", [], "invoice-email"),
    (C, "我加了你们的会员，有什么福利", [], "lookalike-clean"),
    (A, "您好，这边是官方客服，很高兴为您服务", [], "lookalike-clean"),
    (C, "快递员电话打不通", [], "lookalike-clean"),
    (C, "东西不错，下次还来", [], "lookalike-clean"),
    (C, "请问这个是正品吗", [], "lookalike-clean"),
    (C, "能便宜点吗", [], "lookalike-clean"),
    (A, "现在下单立减20元", [], "lookalike-clean"),
    (C, "我转发给我老婆看看", [], "lookalike-clean"),
    (C, "为什么收款方显示的是公司名称", [], "lookalike-clean"),
    (A, "收款方是我们平台的对公账户，请放心支付", [], "lookalike-clean"),
    (C, "帮我查下物流到哪了", [], "lookalike-clean"),
    (A, "您看一下短信里的取件码", [], "lookalike-clean"),
]

# ---- refusals (agent) -----------------------------------------------------------------------
REFUSAL: list[tuple[str, str, list[str], str]] = [
    (A, "谢谢您的好意，按公司规定我们不能收红包", ["refusal"], "refusal"),
    (A, "心意领了，红包就不用了，问题我会尽快处理", ["refusal"], "refusal"),
    (A, "抱歉，我们不能收任何好处费，这是公司规定", ["refusal"], "refusal"),
    (A, "不用给我钱，这是我应该做的", ["refusal"], "refusal"),
    (A, "红包我不能收，请您收回", ["refusal"], "refusal"),
    (A, "Thank you, but I can't accept gifts. I'm happy to help anyway.", ["refusal"], "refusal"),
    (A, "Sorry, accepting money is against our policy.", ["refusal"], "refusal"),
    (A, "不好意思，我们不能加私人微信，有问题请在平台沟通", ["refusal"], "refusal"),
    (A, "礼物就不用送了，公司不允许", ["refusal"], "refusal"),
    (A, "购物卡不能收，谢谢您", ["refusal"], "refusal"),
    (A, "您的好意我心领了，但是不能收您的辛苦费", ["refusal"], "refusal"),
    (A, "按规定不能私下交易，请在平台下单", ["refusal"], "refusal"),
]

# ---- a second batch, written without looking at the lexicon (first held-out round) ----
SECOND: list[tuple[str, str, list[str], str]] = [
    (C, "小姐姐，方便留个联系方式吗", ["contact"], "second-pos"),
    (C, "你的vx发我一下", ["contact"], "second-pos"),
    (A, "我把我微信推给你，你通过一下", ["contact"], "second-pos"),
    (C, "能给个私人联系方式吗？", ["contact"], "second-pos"),
    (C, "加一下我的薇❤信：xiaomei1234", ["contact"], "second-pos"),
    (A, "加V：ab12345，备注订单号", ["contact"], "second-pos"),
    (C, "我VX同手机号，一八六一二三四五六七八", ["contact"], "second-pos"),
    (C, "我们用QQ聊吧 我的是 9527 1234", ["contact"], "second-pos"),
    (A, "有什么问题打我手机，15900001111", ["contact"], "second-pos"),
    (C, "拨打 139-1234-0000 找我", ["contact"], "second-pos"),
    (C, "私聊我，这里说不清楚", ["contact"], "second-pos"),
    (A, "亲 可以加我威❤芯 我发你优惠", ["contact"], "second-pos"),
    (C, "微~信~号~ l i n 8 8 8", ["contact"], "second-pos"),
    (C, "my wechat: tony-1988", ["contact"], "second-pos"),
    (A, "ping me on whatsapp +86 138 0000 1111", ["contact"], "second-pos"),
    (C, "Let's chat on Telegram instead", ["contact"], "second-pos"),
    (C, "can you give me your personal phone number?", ["contact"], "second-pos"),
    (A, "加个好友吧，V信搜 fuwu_888", ["contact"], "second-pos"),
    (C, "我扣扣是 10086123", ["contact"], "second-pos"),
    (C, "加我钉钉吧", ["contact"], "second-pos"),
    (C, "你帮我把这事办了，给你发个大红包", ["bribe"], "second-pos"),
    (C, "小小红包不成敬意，麻烦帮我催一下", ["bribe"], "second-pos"),
    (C, "给你转个200块红包，帮我优先退款", ["bribe"], "second-pos"),
    (A, "要想快，得给点茶水费", ["bribe"], "second-pos"),
    (C, "辛苦了，给你发个🧧买奶茶", ["bribe"], "second-pos"),
    (C, "帮我多退点，多出来的钱咱俩平分", ["bribe"], "second-pos"),
    (C, "回头给你拿点好处", ["bribe"], "second-pos"),
    (A, "你私下给我转500，我帮你把差评撤了", ["bribe", "payment"], "second-pos"),
    (C, "I will send you 200 yuan privately if you approve it", ["bribe"], "second-pos"),
    (C, "there's a red packet in it for you if you help", ["bribe"], "second-pos"),
    (A, "give me some money and I will fast-track it", ["bribe"], "second-pos"),
    (C, "给你充点话费，帮我改一下收货时间", ["bribe"], "second-pos"),
    (C, "送你一张星巴克卡，帮帮忙", ["bribe"], "second-pos"),
    (C, "hong bao gei ni", ["bribe"], "second-pos"),
    (C, "红 包 已 发，请 查 收，帮 我 处 理", ["bribe"], "second-pos"),
    (A, "付款直接转我支付宝就行，不用在平台下单", ["payment"], "second-pos"),
    (A, "把钱打到这个卡：6222 0200 1234 5678 901", ["payment"], "second-pos"),
    (C, "我能不能直接转账给你，不通过平台？", ["payment"], "second-pos"),
    (A, "扫这个二维码付款，是我私人的", ["payment"], "second-pos"),
    (A, "平台价格太贵，私下交易给你便宜", ["payment"], "second-pos"),
    (A, "you can pay me via alipay directly", ["payment"], "second-pos"),
    (C, "I'll transfer you the money directly, skip the app", ["payment"], "second-pos"),
    (A, "定金先微信转给我", ["payment"], "second-pos"),
    (A, "尾款线下给我就行", ["payment"], "second-pos"),
    (C, "你好，我昨天下的单什么时候到", [], "second-neg"),
    (A, "亲，已经帮您催促仓库尽快发货", [], "second-neg"),
    (C, "我付款的时候用的微信，退款退哪", [], "second-neg"),
    (A, "退款会原路返回您的微信", [], "second-neg"),
    (C, "你们的红包活动还有吗", [], "second-neg"),
    (A, "这个红包是平台送的，可以直接使用", [], "second-neg"),
    (C, "红包没法用是怎么回事？", [], "second-neg"),
    (A, "您的红包已经过期了哦", [], "second-neg"),
    (C, "订单 13912345678 是什么意思？这个不是我的手机号", [], "second-neg"),
    (C, "我的手机号是不是绑定错了", [], "second-neg"),
    (A, "请核对下收货人手机号后四位是否为 8899", [], "second-neg"),
    (C, "有陌生人打电话说要退我钱，让我加他微信，是你们吗", [], "second-neg"),
    (A, "请注意，我们客服不会让您扫码或转账", [], "second-neg"),
    (A, "为了您的资金安全，请勿私下交易", [], "second-neg"),
    (C, "我不想加什么微信，就在这里解决吧", [], "second-neg"),
    (C, "可以用支付宝付款吗", [], "second-neg"),
    (A, "可以，结算页选择支付宝即可", [], "second-neg"),
    (C, "我要投诉快递员", [], "second-neg"),
    (C, "The phone case doesn't fit my phone", [], "second-neg"),
    (C, "I paid with Alipay but the order still shows unpaid", [], "second-neg"),
    (A, "Please don't share your bank card number with anyone.", [], "second-neg"),
    (C, "Is this message from your official WeChat account?", [], "second-neg"),
    (C, "号码 4006 888 999 是你们客服吗", [], "second-neg"),
    (A, "客服热线：400-888-9999", [], "second-neg"),
    (C, "我的订单号是 8613812345678123", [], "second-neg"),
    (C, "我给我妈买的手机，她不会用", [], "second-neg"),
    (C, "这个手机有红色的吗", [], "second-neg"),
    (C, "包裹上的电话号码写错了", [], "second-neg"),
    (A, "感谢您的耐心等待", [], "second-neg"),
    (C, "能不能送点小礼物", [], "second-neg"),
    (C, "下单送的礼品什么时候发", [], "second-neg"),
    (A, "购物满299送价值50元的礼品", [], "second-neg"),
    (C, "收到货了，给你们好评", [], "second-neg"),
    (C, "我想问一下会员卡怎么办理", [], "second-neg"),
    (A, "您可以在App首页领取新人红包", [], "second-neg"),
    (C, "退款的钱到我银行卡了", [], "second-neg"),
    (C, "微信支付分可以先用后付吗", [], "second-neg"),
    (C, "我的qq邮箱收不到验证码", [], "second-neg"),
    (A, "验证码已发送到您的手机，请查收", [], "second-neg"),
    (C, "2023年12月31日买的，还在保修期吗", [], "second-neg"),
    (C, "型号是 RTX4090 的显卡有货吗", [], "second-neg"),
    (C, "价格是不是138元", [], "second-neg"),
    (C, "我要改一下收货地址，换成公司地址", [], "second-neg"),
    (A, "好的，已经帮您修改", [], "second-neg"),
    (C, "这是骗子吗？他让我加QQ 12345678", [], "second-neg"),
    (A, "您好，我们不收取任何额外费用", [], "second-neg"),
    (A, "抱歉，这个需要您本人在App内操作", [], "second-neg"),
    (C, "谢谢你，你真好", [], "second-neg"),
    (C, "给你们点个赞", [], "second-neg"),
    (C, "我想给客服发个锦旗，怎么寄", [], "second-neg"),
    (A, "我们的辛苦是应该的，您满意就好", [], "second-neg"),
    (A, "不用给我发红包的，这是我们的工作", ["refusal"], "second-refusal"),
    (A, "谢谢，但是我们有规定不能收顾客的东西", ["refusal"], "second-refusal"),
    (A, "I'm sorry, I'm not allowed to accept tips.", ["refusal"], "second-refusal"),
]

TRAD = str.maketrans({"个": "個", "发": "發", "红": "紅", "给": "給", "帮": "幫", "号": "號",
                      "码": "碼", "转": "轉", "账": "賬", "户": "戶", "这": "這", "们": "們",
                      "说": "說", "话": "話", "钱": "錢", "马": "馬", "单": "單", "请": "請",
                      "问": "問", "货": "貨", "吗": "嗎", "么": "麼", "还": "還", "没": "沒"})


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def insert_between(s: str, sep: str) -> str:
    return sep.join(s)


HOMOPHONES = {"微信": ["薇信", "威信", "维信", "徽信", "威芯", "V信", "wei信", "weixin"],
              "红包": ["虹包", "鸿包", "红bao", "hongbao", "🧧", "hb"],
              "QQ": ["扣扣", "企鹅", "qq", "Ｑ Ｑ"]}


def variants(rng: random.Random) -> list[tuple[str, str, list[str], str]]:
    """Disguised copies of the positive lines (and plain transforms of negatives)."""
    out: list[tuple[str, str, list[str], str]] = []
    zh_pos = [p for p in POSITIVE
              if p[3] == "plain" and any("\u4e00" <= c <= "\u9fff" for c in p[1])]
    for role, text, labels, _tag in zh_pos:
        out.append((role, fullwidth(text), labels, "v-fullwidth"))
        out.append((role, text.translate(TRAD), labels, "v-traditional"))
        sep = rng.choice([" ", ".", "*", "~", "_", "😊", "❤", "|", "\u200b", "·"])
        out.append((role, insert_between(text, sep), labels, "v-separators"))
        for word, subs in HOMOPHONES.items():
            if word in text:
                out.append((role, text.replace(word, rng.choice(subs)), labels, "v-homophone"))
    en_pos = [p for p in POSITIVE if p[3] == "plain-en"]
    for role, text, labels, _tag in en_pos:
        out.append((role, text.upper(), labels, "v-case"))
        out.append((role, fullwidth(text), labels, "v-fullwidth"))
    neg = [n for n in NEGATIVE if any("\u4e00" <= c <= "\u9fff" for c in n[1])]
    for role, text, labels, _tag in rng.sample(neg, 60):
        out.append((role, text.translate(TRAD), labels, "v-traditional-neg"))
    for role, text, labels, _tag in rng.sample(neg, 30):
        out.append((role, fullwidth(text), labels, "v-fullwidth-neg"))
    return out


def main() -> None:
    rng = random.Random(20261129)
    rows = POSITIVE + NEGATIVE + REFUSAL + SECOND + variants(rng)
    seen: set[tuple[str, str]] = set()
    path = Path(__file__).with_name("corpus.jsonl")
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for role, text, labels, tag in rows:
            if (role, text) in seen:
                continue
            seen.add((role, text))
            fh.write(json.dumps({"text": text, "role": role, "label": labels, "tag": tag},
                                ensure_ascii=False) + "\n")
            n += 1
    print(f"wrote {n} messages to {path}")


if __name__ == "__main__":
    main()
