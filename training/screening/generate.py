"""Write the intent layer's training data (deterministic): training/screening/generated.jsonl.

    .venv/bin/python training/screening/generate.py

Written for the learned layer only. Nothing is taken from an evaluation set (the corpus's eval
half, see split_corpus.py, or a blind round); some phrasings in the EN_OK/OFFICIAL/SHORT/MORE
pools came from lines of the corpus's *train* half that an early model got wrong (that half is
training data itself). Lines are composed from pools of
phrasings across many domains, disguises (homophones, pinyin, emoji, traditional characters,
spacing, numerals) and hard negatives (refusals that quote the offer, product and voucher codes
with WX/HB, masked e-mails in notices, everyday words containing slang tokens, official
channels). Each line: {"text", "role", "label": [categories], "kind", "domain"}.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import opencc

OUT = Path(__file__).with_name("generated.jsonl")
C, A = "customer", "agent"
CT, BR, PY, RF = "contact", "bribe", "payment", "refusal"
R = random.Random(20261204)
S2T = opencc.OpenCC("s2t")

DOMAINS: dict[str, list[str]] = {
    "ecommerce": ["我买的衣服尺码不对", "订单显示已签收但我没收到", "商品有划痕想退货", "优惠券用不了",
                  "这个型号还有货吗", "发货太慢了", "退款什么时候到账", "换货需要寄回吗"],
    "home_repair": ["空调不制冷了", "师傅明天几点上门", "热水器漏水", "维修费怎么算", "上次修完又坏了",
                    "预约的安装时间能改吗", "配件要另外收费吗", "师傅迟到了一个小时"],
    "travel": ["机票能改签吗", "酒店入住时间是几点", "行李超重怎么收费", "航班延误有补偿吗",
               "退票手续费多少", "我想升级房型", "签证材料还缺什么", "旅行团几点集合"],
    "telecom": ["宽带断网了", "话费扣得不对", "套餐怎么变更", "信号一直不好", "流量包怎么退订",
                "携号转网要多久", "光猫指示灯红了", "账单有一笔不认识的扣费"],
    "food": ["外卖送错了", "骑手一直没到", "菜少了一份", "餐撒了能退吗", "店铺什么时候营业",
             "配送费怎么这么贵", "备注的不要辣没做到", "红烧肉是凉的"],
    "insurance": ["理赔材料怎么交", "保单什么时候生效", "车险出险了怎么报案", "理赔金额怎么算",
                  "续保有优惠吗", "住院报销需要哪些单据", "保费能分期吗", "退保会扣多少"],
    "banking": ["信用卡额度能提吗", "转账显示失败", "网银登录不了", "贷款审批要多久",
                "账单分期手续费多少", "卡被冻结了", "理财到期怎么赎回", "还款日能改吗"],
    "education": ["课程能退吗", "老师什么时候上课", "作业提交不了", "证书怎么领取",
                  "换班需要什么手续", "直播课回放在哪看", "考试成绩什么时候出", "学费能开发票吗"],
    "ride": ["司机绕路了", "车费多扣了", "东西落在车上了", "司机态度不好", "预约车没来",
             "取消订单扣了费", "司机要求线下加钱", "行程结束了还在计费"],
    "logistics": ["快递到哪了", "包裹破损了", "能改收货地址吗", "快递员不送上楼", "运费怎么算",
                  "超时未送达", "丢件怎么赔", "能约周末送吗"],
    "health": ["挂号能退吗", "体检报告什么时候出", "医生几点坐诊", "药品能配送吗", "预约改到下周"],
    "rental": ["押金什么时候退", "房东不修热水器", "合同能提前解约吗", "中介费怎么收", "看房约几点"],
    "gaming": ["充值的点券没到账", "账号被封了怎么申诉", "皮肤买错了能退吗", "游戏一直闪退",
               "月卡奖励没领到", "防沉迷认证失败", "装备丢了能找回吗", "活动礼包怎么领"],
    "real_estate": ["这套房还能看吗", "首付比例是多少", "网签需要带什么", "意向金能退吗",
                    "物业费怎么交", "贷款审批下来了吗", "过户要多久", "车位能单独买吗"],
    "healthcare": ["复诊要重新挂号吗", "医保能报销多少", "处方药怎么买", "检查结果在哪看",
                   "专家号约不到", "住院押金怎么退", "疫苗预约改时间", "线上问诊怎么开发票"],
}
AGENT_OK = ["您好，我帮您查一下", "请稍等，正在为您核实", "已经为您加急处理了", "给您带来不便非常抱歉",
            "这边已经登记了，请耐心等待", "已为您提交工单，24小时内回复", "请提供一下订单号",
            "退款会原路返回，预计1-3个工作日", "我已经联系了师傅", "还有其他可以帮您的吗",
            "您可以在订单页面查看进度", "按照平台规定，这个可以为您处理", "已经为您申请了补偿",
            "麻烦您上传一下照片", "这个问题我转给专员处理"]
CUST_OK = ["好的谢谢", "麻烦快一点", "怎么还没处理", "那我等着", "谢谢你，辛苦了", "这也太慢了吧",
           "行，知道了", "我已经等了三天了", "能不能快点", "好的，收到"]

CH_CONTACT = ["微信", "威信", "薇信", "V信", "v信", "vx", "VX", "wx", "WX", "weixin", "微❤", "V❤",
              "绿泡泡", "维信", "卫星", "徽信", "QQ", "qq", "扣扣", "企鹅", "手机号", "电话", "手机",
              "私人号码", "号码", "钉钉", "飞书", "陌陌", "WhatsApp", "Telegram", "Line", "邮箱",
              "小红书", "抖音", "快手", "微博", "dy", "xhs", "企微", "电报"]
IDS = ["lily_88", "abc12345", "wxid_9a8b7c", "kevin9527", "zhang_88_hz", "mm520520", "tt_1990",
       "sun_sh1ne", "x_y_z_66", "hello_2024", "amy-w-77", "dd_6688"]
PHONES = ["138 0013 8000", "1380013 8000", "一三八零零一三八零零零", "壹叁捌零零壹叁捌零零零",
          "13９00138０00", "186-1234-5678", "159 8888 6666", "1 3 9 0 0 1 1 2 2 3 3", "幺三八零零幺三八"]
REQ_CUST = ["加我{ch}", "加一下我的{ch}", "你{ch}多少", "方便留个{ch}吗", "把你的{ch}发我",
            "我们{ch}上聊", "去{ch}上说吧", "{ch}联系我", "我{ch}是{id}", "搜我{ch}：{id}",
            "{ch}私信我", "直接{ch}找我", "我把{ch}发你", "能给个{ch}吗", "你有{ch}吗，加一个",
            "换{ch}聊吧", "来{ch}，这里不方便说", "{ch}号给我一下", "留个{ch}，以后直接找你",
            "你的{ch}能告诉我吗", "咱们加个{ch}好友", "回头{ch}上细说", "{ch}：{id}，记一下"]
REQ_AGENT = ["加我{ch}，我单独给您处理", "您加一下我的私人{ch}", "我的{ch}是{id}，有事直接找我",
             "以后别走平台了，{ch}联系我", "这里说话不方便，{ch}上聊", "我把{ch}发您，后面直接找我",
             "您{ch}多少，我私下联系您", "下班后我{ch}找您", "{ch}搜{id}，备注订单号",
             "有问题直接{ch}我，比平台快"]
PHONE_REQ = ["我电话{ph}，直接打我", "打我手机{ph}", "号码是{ph}，晚上联系", "记一下我的号{ph}",
             "my number is {ph}, call me", "有事打{ph}找我"]
PINYIN = ["jia wo wei xin", "jiawo vx ba", "wo men si liao", "ni dian hua duo shao", "gei wo shou ji hao",
          "jia ge hao you ba", "wei xin lian xi wo", "si xin wo", "liu ge dian hua", "jia wo qq"]
DM_APPS = ["小红书私信我", "抖音搜我名字私聊", "你抖音号多少，我关注你私聊", "来我小红书主页，私信发我",
           "dy私我", "xhs私信聊", "快手上找我，名字跟这里一样", "微博私信我详细说", "在小红书上搜{id}私聊",
           "抖音号{id}，私信我", "关注我的小红书再私信", "去哔哩哔哩私信我"]
QR_CONTACT = ["扫我头像的码", "你的二维码发我一下", "头像就是我的码，扫一下", "发个你的名片二维码",
              "主页有码，扫了加我", "把你的码截图给我", "扫一下我朋友圈的码", "我把二维码发你，扫了就能加",
              "看我头像，扫码加我", "send me your QR code so I can add you", "scan the code in my profile picture"]
EN_CONTACT = ["add me on wechat", "what's your whatsapp?", "dm me on instagram", "text me at {ph}",
              "let's talk on telegram", "hit me up on line", "my wechat is {id}", "can I get your personal number?",
              "message me on xiaohongshu", "follow me on douyin and dm me", "email me privately: {id} at gmail",
              "let's continue this chat somewhere else, add me {id}"]

OFFERS = ["给你发个红包", "包个红包给你", "请你喝杯奶茶", "请你吃顿饭", "给你点辛苦费", "给你{amt}块茶水费",
          "意思一下", "少不了你的好处", "一点心意你收下", "送你一张{card}", "给你充{amt}话费", "转你{amt}",
          "给你{amt}好处费", "回头给你返点", "给你{n}个点的回扣", "买个{gift}送你", "给你点小费",
          "发个{amt}的红包给你", "给你包个大的", "事后表示表示", "给你寄点{gift}", "好处费好说",
          "给你买杯咖啡", "给你{amt}块钱跑腿费", "请你按摩", "送你两张电影票"]
CARDS = ["京东卡", "超市购物卡", "购物卡", "礼品卡", "星巴克卡", "加油卡", "天猫卡", "话费卡", "美团卡",
         "沃尔玛卡", "苏宁卡", "电影卡", "商场卡", "京东E卡"]
GIFTS = ["特产", "茶叶", "水果", "烟酒", "月饼", "化妆品", "购物卡", "红酒"]
FAVORS = ["帮我加急", "通融一下", "帮我多退点", "把差评删了", "帮我插个队", "优先处理我的", "帮我走个后门",
          "帮我多报点", "这个单子帮我批了", "帮我免了违约金", "帮我把理赔金额提一提", "帮我把分数改一下",
          "给我升个舱", "帮我把额度提上去", "帮我改一下记录", "帮我把审核过了", "帮我多申请点补偿",
          "睁一只眼闭一只眼", "帮我把运费免了", "让师傅先来我家"]
GIFT_ADDR = ["你家地址给我，我寄点东西感谢你", "把你私人地址发我，给你寄礼物", "你住哪，我给你送点{gift}过去",
             "留个你家的地址，我寄张{card}给你", "告诉我你的收货地址，送你点{gift}",
             "send me your home address, I'll mail you a gift card"]
SOLICIT = ["这个要看您的诚意了", "按老规矩来就快", "懂的都懂，表示一下马上给您办", "我们这边也不容易，您看着办",
           "加急的话需要另外表示一下", "意思意思就能插队", "不然要排很久哦，您懂的", "给点茶水钱我帮您搞定",
           "您的事我上心，但总得有点表示吧", "规矩您应该知道的", "心意到了事情就好办", "辛苦费您看着给",
           "有红包的话我可以优先", "您看能不能给我发个红包，我马上处理", "给我买张{card}就行",
           "请我喝个奶茶我就帮你加急", "送我点东西我给你弄好", "好处少不了的话，理赔能多给你报点",
           "想快的话，得有点诚意", "别人都是这么办的，您懂吧", "额外给点，我今天就给你批",
           "老客户都知道规矩", "这个事不好办，除非你意思一下", "感谢费到位就能加急",
           "if you want it faster, a little thank-you would help", "a small tip and I'll prioritise your case"]
PAY_CUST = ["我直接转你吧，不走平台", "我私下转账给你", "能不能现金给你", "线下付款便宜点吗",
            "不在app下单直接给你钱行不行", "我把钱打到你卡上", "定金我直接给你", "绕开系统付给你可以吗",
            "支付宝转你吧，别走平台了", "给个你的收款码我扫", "我付现金，你给我打个折", "走系统外结算吧",
            "尾款我私下给你", "你给我个账户我转过去", "不开发票的话能便宜吗，钱直接给你",
            "can I just pay you in cash?", "let's skip the app, I'll transfer to you directly"]
PAY_AGENT = ["您直接转我个人账户就行", "我发您一个内部付款链接", "押金先打到我卡上：{bank}",
             "现金给师傅就行，不用在app付", "不走平台可以便宜{amt}", "我私下给您退款，您把账号给我",
             "退款我私下转您，别申请了", "扫我的收款码付吧", "定金转我微信", "尾款线下结，给您优惠",
             "这是内部渠道的付款链接，比官网便宜", "付到这个账户：{bank}，户名是我本人",
             "订金先交给我，我帮您锁位", "系统外付款可以打九折", "用我的二维码付，别在订单里付",
             "差价我私下退给您", "保证金直接给我就行", "pay me directly and I'll give you a discount",
             "just send the deposit to my personal account", "cash is fine, skip the app",
             "I'll refund you privately, send me your account", "use this internal payment link instead"]
BANKS = ["6222 0210 0112 3456 789", "6217 0000 1234 5678", "招行 6225 8801 2345 6789"]

REFUSE_AGENT = ["{q}？这个我不能收，谢谢您的好意", "您说{q}，真的不行，公司有规定", "{q}就不用了，这是我应该做的",
                "谢谢，但{q}我们是不接受的，请放心我会尽快处理", "{q}不可以哦，我们只在平台服务",
                "您的心意我领了，{q}真的不能收", "不好意思，{q}违反规定，我不能答应", "{q}？我们不做这种事的",
                "I can't accept that, thank you, I'll handle it through the platform",
                "Sorry, {q} is against our policy"]
REFUSE_CUST = ["你说{q}？不行，我只在平台付", "我不会{q}的，就在这里说吧", "{q}就算了，我走官方渠道",
               "不用了，{q}我不放心，还是平台付款", "你让我{q}？我不会转的", "{q}我拒绝，请按平台流程来",
               "No, I won't {q_en}, I'll use the official checkout"]
REFUSE_Q_AGENT = ["给我发红包", "请我吃饭", "给我转钱", "送我购物卡", "加您微信", "私下加好友", "收您的辛苦费"]
REFUSE_Q_CUST = ["私下转账", "加你微信", "把钱转到你卡上", "扫你的收款码", "现金给你", "用你的内部链接付款"]
REFUSE_Q_EN = ["pay you privately", "add you on wechat", "send the deposit to your account"]

NEG_CODES = ["优惠码 HB{n}，结算时输入", "券码WX{n}已经失效了", "型号 WX-{n} 还有货吗", "订单号 HB2024{n}",
             "产品编号VX{n}", "快递单号 SF{n}", "我的会员号是 QQ{n}", "兑换码 HBWX{n} 怎么用", "车型 WX{n} 的配件",
             "航班 HB{n} 延误了吗", "工单号 WX{n} 进度如何", "批次号 HB-{n}", "SKU: VX-{n}-BLK"]
NEG_MASKED = ["发票已发送至您的邮箱 z***@163.com，请查收", "您绑定的邮箱 l***g@qq.com 已验证",
              "已向您尾号 5678 的手机发送验证码", "账号手机 138****5678 已绑定", "电子保单已发送到 w***@126.com",
              "通知：请勿向任何人透露验证码，客服不会索要", "官方邮箱 service@ 开头的才是我们的邮件"]
NEG_EVERYDAY = ["微信支付可以用吗", "威信县的地址能送吗", "用微信扫码付款失败了", "平台红包怎么领",
                "红包雨活动几点开始", "加急配送要多少钱", "手机卡顿怎么办", "抖音直播间下的单能退吗",
                "我在小红书看到你们家产品", "官方公众号上查到的", "QQ音乐会员怎么续费", "微博上看到你们的活动",
                "支付宝付款失败", "银行卡绑定不了", "手机号换了怎么改绑", "私信官方客服没人回",
                "加购物车的东西没了", "加油卡充值到账了吗", "购物卡余额怎么查", "礼品卡怎么在平台用",
                "新人红包怎么没到账", "转账记录在哪查", "我想加购一件", "加微信好友送的优惠券在哪",
                "商品详情页的二维码扫不出来", "扫桌上的二维码点餐", "请扫描官方二维码下载app",
                "付款二维码在订单页", "现金券怎么用", "押金在app里能退吗", "订金可以在平台退吗",
                "司机要求我线下加钱，这合规吗", "有人冒充客服让我加微信，是你们吗", "微信里有人自称客服要我转账",
                "我卡里的钱被扣了两次", "退款能退到微信零钱吗", "电话打不通，平台热线多少",
                "钉钉打卡的考勤机坏了", "给孩子买的微信读书会员", "我的QQ邮箱收不到发票",
                "This voucher code HB2024 doesn't work", "my order WX3391 hasn't shipped",
                "can I pay with wechat pay?", "is cash on delivery available?", "where do I find the QR code to pay?"]
NEG_AGENT_OFFICIAL = ["请在订单页点击联系客服", "官方热线400-820-8820，24小时服务", "请通过平台支付，切勿私下转账",
                      "温馨提示：请勿添加任何私人微信", "我们不会索要红包，谨防诈骗", "退款将原路返回您的支付宝",
                    "平台会发放优惠券红包到您的账户", "补偿的20元无门槛券已发到您账户", "请扫描订单页的官方二维码付款",
                      "可以关注我们的官方公众号查看进度", "押金会在退房后原路退回", "现金支付请在app选择货到付款",
                      "发票会发到您预留的邮箱", "为了您的资金安全，所有款项请在平台内支付",
                      "您可以在我们官方抖音号看安装视频", "理赔款会直接打到您保单绑定的银行卡"]
THANKS = ["谢谢你，真是帮大忙了", "你服务太好了，给你五星好评", "我会给你好评的", "太感谢了，你人真好",
          "辛苦了，祝你工作顺利", "thank you so much, five stars", "你们客服态度真好"]

EN_OK_CUST = ["The item arrived damaged, what should I do?", "Where is my parcel?", "I want a refund for order {n}",
              "The technician didn't show up today", "Can I change my flight to Friday?", "My internet has been down since morning",
              "The driver took a longer route", "The food was cold when it arrived", "How do I file an insurance claim?",
              "My card was charged twice", "When does the course start?", "Can I get an invoice for this?",
              "The app keeps crashing when I pay", "Is there a warranty on this model?", "Please cancel my booking",
              "I was overcharged on my bill", "Can you check the delivery time?", "The size doesn't fit, can I exchange it?",
              "Thanks, that solved it", "Is 400-820-8820 your official number?", "Which hotline should I call?",
              "I changed my phone number, please update it", "Can I pay with my credit card?", "Do you accept Apple Pay?",
              "How long does the refund take?", "I left my bag in the car", "The room was not cleaned", "My exam score is missing"]
EN_OK_AGENT = ["Sorry for the inconvenience, let me check", "Your refund has been returned to your original payment method",
               "Please do not transfer money to personal accounts.", "We will never ask you to transfer money to a personal account.",
               "Your order number is {n}.", "You can reach our official hotline at 400-820-8820", "I have escalated your ticket",
               "Please keep all communication on this platform", "The technician will arrive between 2 and 4 pm",
               "Your claim has been approved, payment will arrive in 3 days", "Please upload a photo of the damage",
               "Is there anything else I can help with?", "Please never share your verification code with anyone",
               "You can pay safely through the checkout page", "I cannot see your card details, please use the app"]
OFFICIAL_NUM = ["客服电话一直占线，有没有别的官方联系方式", "拨打{hot}没人接", "你们官方电话是{hot}吗", "我打了{hot}，说转人工",
                "我们的售后电话是{hot}，工作时间9:00-18:00", "如需帮助请拨打官方热线{hot}", "{hot}是我们唯一的客服电话",
                "请拨打{hot}转2号键", "银行客服{hot}说让我找你们"]
HOTLINES = ["4008123123", "400-820-8820", "400 600 1234", "95588", "95533", "800-810-8888", "10086", "10010"]
OFFICIAL_CONTACT = ["不客气哦，有问题随时联系我们", "有任何问题请在此会话中联系我们，勿添加陌生人", "私信功能在消息中心",
                    "您可以在app里给我们发私信", "如有疑问可以随时在这里联系我", "联系方式在订单详情页", "请通过官方客服联系我们",
                    "您可以在'我的-客服中心'找到我们", "后续有问题直接在这个会话里找我就行"]
OWN_NUMBER = ["我的号码换了，给我改一下", "手机号换了怎么改绑", "帮我把预留电话改成新的", "收货电话填错了能改吗",
              "我手机号注册的，登不上", "验证码发到我旧手机了", "订单上的电话是我老公的"]
SPECS = ["型号 ＳＭ－Ｇ９９１０，１２ＧＢ＋２５６ＧＢ，黑色", "尺码 XL，颜色 WX-08 米白", "批号 {n}，保质期到明年",
         "规格 500ml×12，编码 HB{n}", "内存 8+256，版本 V{n}", "iPhone 15 Pro 256G", "尺寸 180×200cm"]
THANKS2 = ["谢谢你帮我处理，给你点个赞", "帮我充的话费到了吗？", "你帮我办的事我记着呢，谢谢", "给你五星好评了",
           "我会在评价里表扬你的", "太感谢了，你是我遇到最好的客服", "谢谢小哥，辛苦你跑一趟"]
SHORT_ASK = ["微信？", "wx?", "电话？", "vx多少", "扣扣？", "号码？", "qq呢", "手机多少", "有v吗", "加个v"]
MORE_BRIBE = ["给你发个🧧🧧，麻烦快点", "退款成功后我分你三成", "这是一点小心意，您收下", "事后送你一部新手机",
              "红包已发，请查收，帮我处理", "我可以多给你点钱，帮我把理赔批了", "I can pay you some extra if you approve my claim",
              "some cash for your trouble if you speed it up", "口令红包发你了，帮我加急", "给你转了88，帮我看看",
              "赔下来的钱分你一半", "我给你点奖励，你帮我把单子排前面"]
MORE_CONTACT = ["我把我微信推给你，你通过一下", "koukou号{n}", "+86 {ph}", "我名片推给你了，加一下", "通过一下好友申请",
                "我加你了，通过一下", "扣扣{n}找我", "V：{id}", "薇芯号是什么", "加我支付宝吧，账号是手机号"]
MORE_PAY = ["能不能私下交易？平台手续费太高了", "我直接维信转你吧，不在平台付了", "转账给我", "支付宝扫这个码，是我的个人码",
            "想快点退款就给我转{amt}", "钱打我私人账户上", "直接微信付我，省得走流程", "别走平台了，我给你个收款账号",
            "货款直接给我，平台那边我来处理"]


# --- v3 (session 3): broader hard negatives and positives, by class, across domains.
THIRD = ["司机", "师傅", "前台", "药师", "中介", "导游", "快递员", "骑手", "有个人", "店员", "销售",
         "保险代理", "房东", "教练", "代练", "经纪人", "装修工人", "护工"]
THIRD_ACT = ["加他微信", "私下转账给他", "现金给他", "直接把钱转给他", "不走平台直接付他", "扫他的收款码",
             "加他QQ私聊", "在他那里私下交易", "给他发个红包", "把定金打到他卡上", "线下付给他打八折"]
THIRD_DECLINE = ["我拒绝了", "我没答应", "我没敢", "我说不需要", "我没同意", "我明确说了不要",
                 "我当时就拒绝了", "我没理他"]
THIRD_AFTER = ["还是在App付吧", "正规渠道有吗？", "希望你们处理一下", "这样合规吗？", "你们管管",
               "我只用平台", "我觉得很不舒服", "请问这是你们的规定吗"]
QUOTE_OFFER = ["直接把钱转给我，不走平台", "加个微信以后有事直接找你", "给你现金，打个八折",
               "转我两千，帮你加个号", "给你发个红包，帮我加急", "私下退给你，撤销投诉",
               "扫我的收款码付", "请你吃个饭", "加我QQ，私下聊", "不走系统给你优惠"]
QUOTE_REPLY_A = ["这个我真的没法答应", "这个我们不能接受", "这个不符合规定，我不能这样做",
                 "这种方式平台不允许，也不安全", "这个真的不行，公司明确规定不能私下收费"]
QUOTE_REPLY_C = ["我想了想还是算了", "这个我不放心，还是走平台", "不用了，按流程来就行",
                 "我不会这样做的", "这个我拒绝"]
EXPLAIN = ["您的问题我会按流程尽快处理", "后续进度会通过App通知您", "如有疑问请在本窗口联系我们",
           "这也是为了保护您的资金安全", "出了问题平台才能提供保障", "请以平台记录为准"]
NOTICE = ["提醒：所有{fee}都只通过平台资金监管账户支付，{who}无权私下收款",
          "请不要相信任何自称{who}、要求您添加私人微信或先行支付“{fee}”的人",
          "我司{svc}全程免费，谨防任何人以{fee}名义要求转账", "温馨提示：{who}不会要求您私下转账或扫个人收款码",
          "如有{who}索要红包或好处费，请拨打官方热线举报", "平台严禁{who}私下收取现金，发现请投诉",
          "为保障您的权益，请勿将{fee}转入任何个人账户", "凡是要求加私人微信办理{svc}的都是诈骗"]
NOTICE_FEE = ["定金", "意向金", "加急费", "手续费", "保证金", "押金", "服务费", "解冻费"]
NOTICE_WHO = ["经纪人", "理赔专员", "客服人员", "司机", "老师", "医生", "工作人员", "师傅", "导游"]
NOTICE_SVC = ["理赔", "退款", "办理", "报名", "预约", "维修"]
CODES3 = ["您的处方编号为RX-VX-{d8}，可在我的处方查看", "班级编号为 QQ-EN-{n}，上课链接会推送到APP",
          "鉴定编号 WX-JD-{d8}-{n}，证书随商品寄出", "您的票号是781-{d10}，订座编码QQ{L4}",
          "您的宽带账号为 qq_{l2}_{d7}，初始密码已短信发送", "券码 {L2}{d4}WX，在确认页面选择即可",
          "订单 WX{d10} 已为您申请赔付", "保单号 HB-{d8}，请妥善保管", "合同编号 VX{d6}-A",
          "工单 HB{d6} 已转专员", "游戏角色ID：QQ{d6}区服2", "房源编号 WX-{n}，在App内预约看房",
          "课程代码 HB{n}-B 已开通", "批号 {L2}-WX-{d4}，有效期至明年", "设备序列号 SN{d6}VX{n}"]
MASKED3 = ["访客手机 1{d2}****{d4}，有效期至今晚{h}:00", "已向尾号 **{d4} 的手机发送验证码",
           "预留手机 1{d2}****{d4}，如需修改请在App操作", "身份证 110***********{d4} 已实名",
           "收件人 张** 1{d2}****{d4}", "邮件已发送至 {l1}***@{mail}，请查收", "账号 {l1}***{l1}@{mail} 已绑定",
           "联系人电话 1{d2}xxxx{d4}，已脱敏显示"]
MAILS = ["163.com", "qq.com", "126.com", "foxmail.com", "outlook.com"]
EVERYDAY3 = ["这是什么意思？", "这个套餐有什么好处", "我私下问了朋友，他说可以退", "我心意已决，就要退款",
             "现金分期的利息怎么算", "现金券能叠加吗", "加急审核是平台的付费服务吗", "红包封面在哪领",
             "系统表示我的订单异常", "微信里收到你们的公众号通知了", "退款退到微信零钱了吗",
             "师傅说配件要另外买，在App下单吗", "老师布置的作业在哪提交", "医生说要复查，在哪挂号",
             "转账记录显示对方已收款", "房东让我在App续租", "游戏里的好友怎么加", "代金券快过期了",
             "二维码过期了怎么办", "请扫描门店的官方二维码签到", "能用支付宝付吗", "能货到付款吗",
             "退款到银行卡要几天", "我的QQ邮箱收到了电子发票", "手机号停机了怎么找回账号",
             "加油站的优惠能用吗", "请问私信在哪里看", "抖音上的团购券能用吗", "小红书上看到的攻略",
             "辛苦了，感谢师傅", "送的小礼品收到了，谢谢平台", "给师傅五星好评了", "押金在App里退了吗"]
HOT3 = ["拨打12345市民热线反映了", "我打了12315投诉", "紧急情况请拨打120", "官方客服95{d3}转人工",
        "请拨打{hot}，按1转理赔", "我们唯一的客服热线是{hot}", "{hot}是官方电话吗？", "热线{hot}一直占线"]
CASH3 = ["{fee}我给你现金行吗，不想走App", "{fee}能给你现金吗？不开发票也行", "{fee}我直接给师傅现金行吗",
         "{fee}直接微信转你，便宜点", "不走平台的话{fee}能少点吗", "{fee}我私下给你一百，帮我办个低价的"]
CASH_FEE = ["药钱", "超重费", "宽带安装费", "维修费", "车费", "学费", "物业费", "房租", "押金", "定金",
            "代练费", "会员费", "体检费", "挂号费"]
IMPLICIT3 = ["这个{x}算不算，看我怎么写，您懂的", "{x}一般不行，不过看您的意思了，我们也挺辛苦的",
             "能不能{x}就看您的诚意了", "{x}的事我帮您想想办法，您看着办", "{x}不是不能办，就看您表示了",
             "{x}这种情况，懂事的客户都知道怎么做", "想{x}的话，老规矩", "{x}要快的话得额外意思一下"]
IMPLICIT_X = ["划痕", "升级套房", "理赔", "加急", "插队", "退押金", "换个好位置", "提额度", "改成绩",
              "拿到专家号", "批下来"]
CONTACT3 = ["老师能加您微信吗？{why}", "师傅你有没有微x，{why}", "{third}说您可以加他{app}：{sp}，{why}", "{third}让我转告您，加他{app} {sp}",
            "医生方便留个私人电话吗，{why}", "经纪人说加他v私聊房源", "能加你个人号吗，{why}",
            "你的威x多少，{why}", "方便给个私人联系方式吗，{why}", "加个扣扣吧，{why}", "游戏里不方便，加我QQ说"]
WHY = ["孩子作业有问题想随时问您", "我每天都要去同一个地方想包月", "以后复诊方便", "有房源直接通知我",
       "下次直接约你", "以后有事直接找你"]
LINK3 = ["内部员工通道，年化{p}%，您在这个链接付款：https://vip-{w}.top/pay",
         "这是我们内部付款链接，比App便宜：http://{w}-pay.cn/{n}", "{fee}请汇到我的私人账户，手续之后再补",
         "{fee}打我个人卡上就行，系统那边我来处理",
         "意向金先转我个人账户，我帮您锁房", "押金直接转我支付宝，退房时我退给您"]
WORDS = ["licai", "jinrong", "quick", "vip", "pay", "fast"]
# A favour asked with nothing offered is ordinary service traffic (帮我加急处理一下).
FAVOR_ONLY = ["麻烦{f}", "能不能{f}", "{f}，谢谢", "请{f}，我很着急", "可以{f}吗？", "{f}，这事挺急的",
              "拜托{f}", "辛苦{f}"]
FAVOR_OK = ["帮我加急处理一下", "帮我催一下", "帮我查一下进度", "帮我加急", "优先处理一下", "帮我问问师傅",
            "帮我申请一下补偿", "帮我改一下地址", "帮我换个时间", "帮我看看能不能退", "帮我联系一下商家",
            "快点处理", "帮我升级一下投诉", "帮我跟进一下"]


def _fill3(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    def letters(k: int, up: bool) -> str:
        return "".join(R.choice("ABCDEFGHJKLMNPRSTUXYZ" if up else "abcdefghkmnprstuxyz")
                       for _ in range(k))
    return t.format(d2=d(2), d3=d(3), d4=d(4), d6=d(6), d7=d(7), d8=d(8), d10=d(10),
                    n=R.randint(2, 999), L2=letters(2, True), L4=letters(4, True),
                    l1=letters(1, False), l2=letters(2, False), h=R.randint(18, 23),
                    mail=R.choice(MAILS), hot=R.choice(HOTLINES), fee=R.choice(CASH_FEE),
                    x=R.choice(IMPLICIT_X), why=R.choice(WHY), p=R.choice(["6.8", "8.5", "12"]),
                    w=R.choice(WORDS), sp=" ".join(d(9)) if R.random() < 0.5 else d(9),
                    third=R.choice(THIRD), app=R.choice(["Q", "V", "扣", "微", "VX", "q"]))


def lines_v3() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    def add(text: str, role: str, label: list[str], kind: str, domain: str,
            disguise: bool = True) -> None:
        tag = "plain"
        if disguise:
            text, tag = _disguise(text)
        out.append({"text": text, "role": role, "label": label, "kind": f"{kind}/{tag}",
                    "domain": domain})

    for _ in range(500):  # a customer reports a third party's offer they declined
        d, pool = _domain()
        core = (f"{R.choice(THIRD)}让我{R.choice(THIRD_ACT)}，{R.choice(THIRD_DECLINE)}，"
                f"{R.choice(THIRD_AFTER)}")
        if R.random() < 0.3:
            core = f"{R.choice(pool)}。{core}"
        add(core, C, [], "negative-reported-offer", d)
    for _ in range(500):  # an offer quoted in quotation marks, then declined (long)
        d, pool = _domain()
        role = A if R.random() < 0.55 else C
        q = R.choice(QUOTE_OFFER)
        reply = R.choice(QUOTE_REPLY_A if role == A else QUOTE_REPLY_C)
        lead = R.choice(["您说的", "您刚才提到的", "你说的", "你刚才说", "关于"])
        core = f"{lead}“{q}”{reply}，{R.choice(EXPLAIN)}。{R.choice(pool if role == C else AGENT_OK)}"
        add(core, role, [RF], "refusal-quoted", d, disguise=False)
    for _ in range(350):
        d, _pool = _domain()
        core = R.choice(NOTICE).format(fee=R.choice(NOTICE_FEE), who=R.choice(NOTICE_WHO),
                                       svc=R.choice(NOTICE_SVC))
        add(core, A, [], "negative-notice", d)
    for _ in range(450):
        d, _pool = _domain()
        add(_fill3(R.choice(CODES3)), A if R.random() < 0.7 else C, [], "negative-code3", d,
            disguise=False)
    for _ in range(300):
        d, _pool = _domain()
        add(_fill3(R.choice(MASKED3)), A, [], "negative-masked3", d, disguise=False)
    for _ in range(500):
        d, pool = _domain()
        core = R.choice(EVERYDAY3)
        add(_wrap(core, C, pool), C if R.random() < 0.8 else A, [], "negative-everyday3", d)
    for _ in range(250):
        d, _pool = _domain()
        add(_fill3(R.choice(HOT3)), C if R.random() < 0.5 else A, [], "negative-hotline3", d,
            disguise=False)
    for _ in range(350):
        d, pool = _domain()
        add(_wrap(_fill3(R.choice(CASH3)), C, pool), C, [PY], "payment-cash3", d)
    for _ in range(300):
        d, _pool = _domain()
        add(_fill3(R.choice(IMPLICIT3)), A, [BR], "bribe-implicit3", d)
    for _ in range(350):
        d, _pool = _domain()
        role = C if R.random() < 0.7 else A
        add(_fill3(R.choice(CONTACT3)), role, [CT], "contact3", d)
    for _ in range(200):
        d, _pool = _domain()
        add(_fill3(R.choice(LINK3)), A, [PY], "payment-link3", d)
    for _ in range(350):
        d, pool = _domain()
        core = R.choice(FAVOR_ONLY).format(f=R.choice(FAVOR_OK))
        add(_wrap(core, C, pool), C, [], "negative-favour-only", d)
    return out


def _fill(t: str) -> str:
    return t.format(ch=R.choice(CH_CONTACT), id=R.choice(IDS), ph=R.choice(PHONES),
                    amt=R.choice(["50", "100", "200", "五百", "1000", "两百", "88", "888"]),
                    n=R.randint(2, 99999), card=R.choice(CARDS), gift=R.choice(GIFTS),
                    bank=R.choice(BANKS), q=R.choice(REFUSE_Q_AGENT), q_en=R.choice(REFUSE_Q_EN),
                    hot=R.choice(HOTLINES))


def _domain() -> tuple[str, list[str]]:
    d = R.choice(sorted(DOMAINS))
    return d, DOMAINS[d]


def _disguise(text: str) -> tuple[str, str]:
    x = R.random()
    if x < 0.12:
        return S2T.convert(text), "traditional"
    if x < 0.18:
        return " ".join(text), "spaced"
    if x < 0.23:
        return text.replace("，", "😊").replace("吧", "吧~"), "emoji"
    if x < 0.27:
        return "".join(c + ("." if R.random() < 0.3 else "") for c in text), "punct"
    return text, "plain"


def _wrap(core: str, role: str, domain: list[str], long: bool = False) -> str:
    pool = domain if role == C else AGENT_OK
    if long:
        before = "，".join(R.sample(pool, k=min(len(pool), R.randint(2, 3))))
        after = "，".join(R.sample(pool + (CUST_OK if role == C else AGENT_OK), k=2))
        return f"{before}。{core}。{after}"
    r = R.random()
    if r < 0.35:
        return f"{R.choice(pool)}，{core}"
    if r < 0.55:
        return f"{core}，{R.choice(pool)}"
    return core


def lines() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    def add(text: str, role: str, label: list[str], kind: str, domain: str,
            disguise: bool = True) -> None:
        tag = "plain"
        if disguise:
            text, tag = _disguise(text)
        out.append({"text": text, "role": role, "label": label, "kind": f"{kind}/{tag}",
                    "domain": domain})

    for _ in range(1400):
        d, pool = _domain()
        role = C if R.random() < 0.6 else A
        src = REQ_CUST if role == C else REQ_AGENT
        r = R.random()
        if r < 0.55:
            core = _fill(R.choice(src))
        elif r < 0.65:
            core = _fill(R.choice(PHONE_REQ))
        elif r < 0.73:
            core = R.choice(PINYIN)
        elif r < 0.84:
            core = _fill(R.choice(DM_APPS))
        elif r < 0.92:
            core = R.choice(QR_CONTACT)
        else:
            core = _fill(R.choice(EN_CONTACT))
        long = R.random() < 0.2
        add(_wrap(core, role, pool, long), role, [CT], "contact" + ("-buried" if long else ""), d,
            disguise=not core.isascii())
    for _ in range(900):
        d, pool = _domain()
        offer, favor = _fill(R.choice(OFFERS)), _fill(R.choice(FAVORS))
        core = f"{offer}，{favor}" if R.random() < 0.5 else f"{favor}，{offer}"
        if R.random() < 0.15:
            core = _fill(R.choice(GIFT_ADDR))
        add(_wrap(core, C, pool, R.random() < 0.15), C, [BR], "bribe-offer", d)
    for _ in range(700):
        d, pool = _domain()
        core = _fill(R.choice(SOLICIT))
        add(_wrap(core, A, pool), A, [BR], "bribe-solicit", d, disguise=not core.isascii())
    for _ in range(900):
        d, pool = _domain()
        role = C if R.random() < 0.45 else A
        core = _fill(R.choice(PAY_CUST if role == C else PAY_AGENT))
        add(_wrap(core, role, pool, R.random() < 0.15), role, [PY], "payment", d,
            disguise=not core.isascii())
    for _ in range(700):
        d, pool = _domain()
        if R.random() < 0.55:
            core = _fill(R.choice(REFUSE_AGENT))
            add(core, A, [RF], "refusal-agent", d, disguise=not core.isascii())
        else:
            t = R.choice(REFUSE_CUST)
            core = t.format(q=R.choice(REFUSE_Q_CUST), q_en=R.choice(REFUSE_Q_EN))
            add(core, C, [RF], "refusal-customer", d, disguise=not core.isascii())
    for _ in range(2200):
        d, pool = _domain()
        role = C if R.random() < 0.55 else A
        r = R.random()
        if role == C:
            if r < 0.35:
                core = R.choice(pool)
            elif r < 0.55:
                core = _fill(R.choice(NEG_CODES))
            elif r < 0.85:
                core = R.choice(NEG_EVERYDAY)
            else:
                core = R.choice(THANKS)
        else:
            if r < 0.45:
                core = R.choice(AGENT_OK)
            elif r < 0.7:
                core = R.choice(NEG_AGENT_OFFICIAL)
            elif r < 0.85:
                core = R.choice(NEG_MASKED)
            else:
                core = _fill(R.choice(NEG_CODES))
        add(_wrap(core, role, pool, R.random() < 0.12), role, [], "negative", d,
            disguise=not core.isascii())
    for _ in range(1500):
        d, pool = _domain()
        r = R.random()
        if r < 0.25:
            add(_fill(R.choice(EN_OK_CUST)), C, [], "negative-en", d, disguise=False)
        elif r < 0.4:
            add(_fill(R.choice(EN_OK_AGENT)), A, [], "negative-en", d, disguise=False)
        elif r < 0.55:
            core = _fill(R.choice(OFFICIAL_NUM))
            add(_wrap(core, C if R.random() < 0.5 else A, pool), C if "我们" not in core else A, [],
                "negative-hotline", d)
        elif r < 0.7:
            add(_wrap(R.choice(OFFICIAL_CONTACT), A, pool), A, [], "negative-official", d)
        elif r < 0.8:
            add(_wrap(R.choice(OWN_NUMBER), C, pool), C, [], "negative-own-number", d)
        elif r < 0.9:
            add(_fill(R.choice(SPECS)), C if R.random() < 0.5 else A, [], "negative-spec", d,
                disguise=False)
        else:
            add(R.choice(THANKS2), C, [], "negative-thanks", d)
    for _ in range(700):
        d, pool = _domain()
        r = R.random()
        if r < 0.2:
            add(R.choice(SHORT_ASK), C if R.random() < 0.7 else A, [CT], "contact-short", d,
                disguise=False)
        elif r < 0.45:
            add(_wrap(_fill(R.choice(MORE_CONTACT)), C, pool), C, [CT], "contact", d)
        elif r < 0.75:
            core = _fill(R.choice(MORE_BRIBE))
            add(_wrap(core, C, pool), C, [BR], "bribe-offer", d, disguise=not core.isascii())
        else:
            role = C if R.random() < 0.5 else A
            add(_wrap(_fill(R.choice(MORE_PAY)), role, pool), role, [PY], "payment", d)
    seen: set[tuple[str, str]] = set()
    uniq = []
    for row in out:
        key = (str(row["text"]), str(row["role"]))
        if key not in seen:
            seen.add(key)
            uniq.append(row)
    return uniq


# ---- v5 (session 4): kinds of phrasing rounds D and E showed the layer had not seen, studied
# by class (pointers to a number given elsewhere, other channels, tips and "fees", payment apps
# and proxies, goods as payment, Cantonese and other dialect wording, declines in dialect),
# written as open pools and combined; no line of a round is copied.
WHERE5 = ["订单上联系人那个", "上次打给你的那个", "快递单上那个", "我主页上那个", "我签名里那串",
          "头像图片里那个", "商品详情最后一张图里那个", "评论区置顶那个", "上回留给你的那个", "发票上写的那个",
          "我昵称后面那串", "朋友圈封面上那个"]
THING5 = ["电话", "手机号", "号码", "码", "v", "微", "联系方式", "二维码", "座机", "扣扣"]
POINTER5 = ["{thing}就是{where}，直接找我", "有事打{thing}，就是{where}", "{thing}你有的，就是{where}",
            "要找我的话，{thing}看{where}", "扫{where}，就能加上", "{thing}在{where}，以后别在这问",
            "你去看{where}，那个就是我的{thing}", "直接找我本人，{thing}是{where}"]
MOVE5 = ["这边聊天会被质检，咱们换个地方说", "这里说话不方便，出了平台我跟你细讲", "回我短信吧，别在这回",
         "我给你发短信了，看到回一下", "去YY频道{n}找我", "游戏里有屏蔽，去{app5}上聊", "想要资料的扣1，我拉你进群",
         "我拉你进个专属群，扫码入群", "见面聊吧，地址和号码我写给你", "线下找我，这里有记录",
         "dd我，我拉你", "私我一下", "戳我私聊", "滴滴我，发你链接", "晚上上线{app5}找我，名字跟这里一样",
         "这边不能多说，{app5}搜我名字", "我们换个软件聊，这个会被监控", "进群的回复1，我挨个拉"]
APPS5 = ["YY", "Telegram", "TG", "WhatsApp", "Line", "IG", "钉钉", "陌陌", "Soul", "探探", "微博",
         "B站", "快手", "小红书", "抖音", "飞书"]
SPELL5 = ["给我个手 ji 号", "留个 dian hua", "wei 信多少", "加个 v x", "你的 q q 给我", "V❤：{lid}",
          "薇❤ {lid}", "扣❤ {dig}", "q：{dig}", "v 我：{lid}", "d d 我，{app5}搜「{shop}」",
          "{app5}搜「{shop}」私我", "加个微 x，号是 {lid}"]
SHOPS5 = ["老王修家电", "小李家政", "阿杰数码", "城东搬家", "张姐母婴", "明哥二手车"]
TIP5 = ["给个打赏呗，{fav}", "搞定了记得打赏一下哟", "赏个鸡腿呗，{fav}", "V我{amt5}，{fav}",
        "打赏一下，下次{fav}", "意思意思嘛，{fav}", "请我喝杯奶茶呗，{fav}", "{fav}，打个赏不过分吧"]
FAV5 = ["我给你多跑两单", "我帮你把快递改到今天派", "我优先给你安排", "下次我第一个接你的单",
        "我帮你盯着进度", "我给你走加急", "我帮你多申请点补偿", "我给你挑个好位置"]
FEE5 = ["您给我{amt5}辛苦费，我就帮您{x5}", "可以走特殊通道，只是要一点“手续费”，不进系统的",
        "按老办法，{base}里多报{amt5}，那部分归我", "{x5}也不是不行，价格你开", "想{x5}？你开个价",
        "这事说难也难，说简单也简单，就看你上不上道了", "懂事点，{x5}马上办", "{x5}的话得另外给我{amt5}，别走系统",
        "多给我{amt5}，{x5}的事我来搞定"]
X5 = ["不换配件", "改分数", "解封", "加急审批", "多批额度", "把差评撤了", "提前放款", "帮你插队"]
BASE5 = ["成交价", "报价", "维修单", "理赔金额", "合同价"]
GIFT5 = ["送你几张{card5}，{ask5}", "给你充了{amt5}{card5}，{ask5}", "{card5}我send给你了，{ask5}",
         "小小谢意放你们{place}了，写的你名字，记得拿", "给你点个外卖送到工位，你公司在哪栋楼？",
         "我想单独谢谢您，送个小礼物，地址方便给我吗", "私下返你个人{n}个点，合同上不体现，{ask5}",
         "{card5}给你，{ask5}", "我有几张{card5}，你收下，{ask5}", "HB已发你，{ask5}",
         "hb发你了，{ask5}", "红包发过去了，{ask5}", "🧧已发，{ask5}", "给你发了个hb，{ask5}"]
CARD5 = ["代金券", "Q币", "星巴克电子卡", "油卡", "京东E卡", "购物卡", "话费", "视频会员", "游戏点卡",
         "电影票", "美容卡"]
ASK5 = ["把我的投诉优先处理一下", "审核那边拜托了", "帮我通融下", "你看着帮我弄快点", "结果帮我写好点",
        "这单就多关照了", "把我的分数改一下", "把罚单撤了"]
PLACE5 = ["营业厅前台", "门卫室", "快递柜", "公司楼下", "你们店里"]
PAY5 = ["{fee}直接给你现金行吗，订单你取消一下", "我付你现金吧，{why5}", "多给你{amt5}，别打表了",
        "{fee}用{papp}直接转你，唔使经平台", "直接{papp}给我就行，不走平台省手续费",
        "充值别走官方，找我代充，{disc}", "钱先转到我们团队的过渡账户，收益一样",
        "我朋友做对公账户的，你打到他那里，手续费低", "能刷信用卡套出来，手续费{n}%",
        "你先点确认收货，差价我用红包还你", "退差价要加我，我发红包给你", "好评返现我单独微信返你",
        "别在平台上定，我们签私下协议，服务费打对折", "不用在平台上买，直接把钱给我，我找关系帮你办",
        "我不在App上付了，扫你车上那个码行不", "我这有几张{card5}，抵{fee}行吗", "钱我已经转到你说的尾号{d4}那张卡上了",
        "Just {papp_en} me the rest, skip the checkout fee", "{fee}直接打到我老婆卡上就行",
        "你取消订单，我在路口等你，{fee}给我现金就行", "{fee}不走系统，转我个人就行，便宜{n}块"]
PAPP5 = ["转数快", "过数", "FPS", "PayMe", "支付宝", "微信", "云闪付", "银行卡", "Zelle"]
PAPP_EN5 = ["Venmo", "Zelle", "PayPal", "Cash App", "PayMe"]
DISC5 = ["六折", "7折", "打八折", "便宜三成", "比官方便宜一半"]
WHY5 = ["我不想让家里人看到账单", "手机没电了", "App付款老失败", "这样快点", "不想留记录"]
# Declines (dialect, colloquial, "… 就免了") and other ordinary lines that hold the same words.
DECL5_C = ["唔好意思，我唔会加你{app5}，有嘢喺度讲就得", "唔使喇，{offer5}就唔使，喺平台度搞掂就得",
           "{offer5}就不了哈，还是线上付，我要开发票", "你说{offer5}？我不要，有事在这说",
           "{offer5}我就不弄了，按平台流程来", "要不得，{offer5}我不干，就在App里付",
           "{offer5}？算了吧，出了问题没人管", "No thanks, I'll pay in the app, not {papp_en}"]
DECL5_A = ["{gift5}就免了，单子我按顺序给你排，别客气", "咱不兴这个，{gift5}收回去吧，被查到饭碗要丢",
           "{gift5}你拿回去，该办的我都会办", "心意领了，{gift5}真不能收", "唔使客气，{gift5}我唔收得",
           "{who5}的个人号码我们不能提供，我这边给您直接派单", "私人联系方式不方便给，有事在这里找我就行",
           "{offer5}是违规的，我不能这么做，还是走平台"]
OFFER5 = ["加微信", "私下转账", "付现金", "扫你的码", "进私人群", "转数快转给你", "代充", "私下返现"]
GIFT5_W = ["烟", "红包", "茶钱", "购物卡", "奶茶", "礼物", "这个心意", "打赏"]
WHO5 = ["王师傅", "安装师傅", "配送员", "主治医生", "班主任", "理赔员"]
NEG5 = ["可以在App里给骑手打赏吗", "直播间打赏怎么退", "我的Q币充值没到账", "星巴克电子卡怎么绑定到App",
        "油卡充值在哪个页面", "现金券和代金券能一起用吗", "支持货到付款吗，现金可以吗", "转数快退款几天到",
        "车牌号是沪A·{L2}{d3}吗", "我的车牌 粤B {L2}{d3}，停在B2", "确认信已重新发送至 {l1}***@gmail.com",
        "Your receipt was sent to {l1}***@outlook.com", "我想反映一下，之前有人让我加微信我没理，这次配送又晚了",
        "App里怎么查看短信验证码", "官方群在App首页的社区入口，可以直接加入", "请在订单页扫码评价", "代金券在我的卡包里",
        "退差价会原路退回到您的支付账户", "好评返现活动在App活动页参加", "平台有分期服务，在结算页选择",
        "打表计价，下车用App付就行", "司机师傅打表了吗？", "充值记得在官方渠道，谨防代充诈骗", "我在YY上看过你们的直播",
        "手续费是平台统一收的吗", "价格是平台定的，我们改不了"]
# English service lines holding numbers, codes and words the contact lines also hold.
NEG5_EN = ["tracking number {code}", "the model number is {code}", "my order number is {code}",
           "serial number {code}, bought last month", "is part number {code} in stock?",
           "booking reference {code}", "your ticket number is {code}", "invoice number {code} attached",
           "review: the {thing_en} looks great", "Thanks for your help, you've been great",
           "the {thing_en} number on the box is {code}", "please check case number {code}",
           "I'll leave a good review, thanks", "can I call the courier directly?",
           "my new phone number is saved in the app already", "great service, will buy again"]
THING_EN5 = ["bag", "phone", "model", "size", "color", "battery", "charger", "jacket"]
CN5_PREFIX = ["亲，", "您好，", "师傅，", "老师，", "靓女，", "大佬，", "姐，", "哥们，", "宝子，", ""]


def _fill5(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    lid = R.choice(["lin_", "ke fu ", "xiao", "a", "wang"]) + R.choice(
        ["巴巴 九九", "0 8 8", d(4), "五二零", "幺三八"])
    return t.format(
        thing=R.choice(THING5), where=R.choice(WHERE5), n=R.randint(2, 99), app5=R.choice(APPS5),
        lid=lid, dig="".join(R.choice(["", " "]) + c for c in d(8)), shop=R.choice(SHOPS5),
        fav=R.choice(FAV5), amt5=R.choice(["50", "一百", "两百", "五十", "200", "两千", "88"]),
        x5=R.choice(X5), base=R.choice(BASE5), card5=R.choice(CARD5), ask5=R.choice(ASK5),
        place=R.choice(PLACE5), fee=R.choice(CASH_FEE), why5=R.choice(WHY5), papp=R.choice(PAPP5),
        papp_en=R.choice(PAPP_EN5), disc=R.choice(DISC5), d4=d(4), d3=d(3),
        L2=R.choice(["QQ", "WX", "VX", "AB", "KM"]), l1=R.choice("abcjkmz"), offer5=R.choice(OFFER5),
        gift5=R.choice(GIFT5_W), who5=R.choice(WHO5))


_CANTO5 = [("不", "唔"), ("给", "俾"), ("的", "嘅"), ("在", "喺"), ("了", "咗"), ("他", "佢")]


def _dialect5(text: str) -> str:
    """Some lines in Cantonese written forms (traditional, 唔/俾/嘅...)."""
    for a, b in _CANTO5:
        if R.random() < 0.7:
            text = text.replace(a, b)
    return S2T.convert(text)


def lines_v5() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    def add(text: str, role: str, label: list[str], kind: str, domain: str) -> None:
        tag = "plain"
        x = R.random()
        if x < 0.15:
            text, tag = _dialect5(text), "cantonese"
        elif not text.isascii():
            text, tag = _disguise(text)
        out.append({"text": text, "role": role, "label": label, "kind": f"{kind}/{tag}",
                    "domain": domain})

    def lead(core: str, role: str, pool: list[str], long: float = 0.15) -> str:
        core = R.choice(CN5_PREFIX) + core
        return _wrap(core, role, pool, R.random() < long)

    for _ in range(450):
        d, pool = _domain()
        role = A if R.random() < 0.7 else C
        src = R.choice([POINTER5, MOVE5, SPELL5])
        add(lead(_fill5(R.choice(src)), role, pool), role, [CT], "contact5", d)
    for _ in range(200):
        d, pool = _domain()
        add(lead(_fill5(R.choice(TIP5)), A, pool, 0.05), A, [BR], "bribe-tip5", d)
    for _ in range(300):
        d, pool = _domain()
        add(lead(_fill5(R.choice(FEE5)), A, pool), A, [BR], "bribe-fee5", d)
    for _ in range(300):
        d, pool = _domain()
        add(lead(_fill5(R.choice(GIFT5)), C, pool), C, [BR], "bribe-gift5", d)
    for _ in range(500):
        d, pool = _domain()
        role = C if R.random() < 0.45 else A
        core = _fill5(R.choice(PAY5))
        if core.isascii():
            out.append({"text": core, "role": role, "label": [PY], "kind": "payment5/plain",
                        "domain": d})
            continue
        add(lead(core, role, pool), role, [PY], "payment5", d)
    for _ in range(350):
        d, _pool = _domain()
        if R.random() < 0.5:
            core = _fill5(R.choice(DECL5_C))
            role = C
        else:
            core = _fill5(R.choice(DECL5_A))
            role = A
        if core.isascii():
            out.append({"text": core, "role": role, "label": [RF], "kind": "refusal5/plain",
                        "domain": d})
            continue
        add(R.choice(CN5_PREFIX) + core, role, [RF], "refusal5", d)
    for _ in range(550):
        d, pool = _domain()
        role = C if R.random() < 0.6 else A
        core = _fill5(R.choice(NEG5))
        if core.isascii():
            out.append({"text": core, "role": role, "label": [], "kind": "negative5/plain",
                        "domain": d})
            continue
        # The same openings as the positives (亲，师傅，…): an opening says nothing.
        add(_wrap(R.choice(CN5_PREFIX) + core, role, pool), role, [], "negative5", d)
    for _ in range(400):  # ordinary service lines with those openings
        d, pool = _domain()
        role = C if R.random() < 0.4 else A
        core = R.choice(pool if role == C else AGENT_OK)
        add(R.choice(CN5_PREFIX) + core, role, [], "negative5-opening", d)
    for _ in range(300):
        d, _pool = _domain()
        code = R.choice(["1Z", "A", "SF", "JD", "YT", "X", "B0", "PNR"]) + "".join(
            R.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(R.randint(4, 12)))
        text = R.choice(NEG5_EN).format(code=code, thing_en=R.choice(THING_EN5))
        role = C if R.random() < 0.7 else A
        out.append({"text": text, "role": role, "label": [], "kind": "negative5-en/plain",
                    "domain": d})
    return out


# ---- v6 (session 5): written after studying rounds F and G's errors BY CLASS (no line copied):
# refusals without a trigger word (agents' warnings that staff never ask for private transfers or
# contacts, keeping the customer in the official channel; customers' short declines of a fee or a
# scheme), offers quoted and declined in both roles and every category, declines in dialect;
# positives: other apps and communities (second-hand listings, Soul, Discord, QQ groups, "see my
# profile"), meeting offline, moving to SMS, a third party's number to bypass the fee, implicit
# promises ("会有所表示", "不会亏待你", connections), meals and gifts tied to a favour, in-game
# currency or vouchers as bribes, cash or NFC or a personal QR at the shop, a tutor or agent paid
# directly to skip the platform's cut; hard negatives: official accounts of WeChat, an order's
# phone, deposits and balances of sales events, thanks with five stars, favours asked with no
# offer, numbers changed in one's own profile, official numbers named by an agent.
STAFF6 = ["我们", "本行", "平台", "公司", "官方", "本店", "客服", "工作人员", "我们员工", "本机构"]
CHAN6 = ["微信", "QQ", "短信", "私人电话", "个人手机", "陌生群聊", "第三方群组", "私信", "抖音私信", "电话"]
ASK6 = ["私下转账", "转到个人账户", "代收任何款项", "扫个人收款码", "下载会议软件", "共享屏幕",
        "加私人联系方式", "线下交易", "缴纳解冻费", "付额外的费用", "交保证金", "私下返现"]
OFFICIAL6 = ["订单页面", "App内", "本窗口", "官方渠道", "柜台", "手机银行App", "店铺官方聊天窗口",
             "平台内", "官方热线"]
WARN6_A = [
    "{st}不会通过{ch}联系您{svc}，请不要相信陌生人，有问题就在{off}说",
    "任何让您{ask}的都不是官方要求，请提高警惕，所有款项请在{off}支付",
    "{st}绝不会要求您{ask}，如遇到请立即挂断，有问题请在{off}咨询",
    "请不要{ask}，{svc}只能在{off}办理，我们员工不会{ask2}",
    "不好意思，我只能在{off}为您处理，{svc}进度我这边随时帮您查",
    "为保障您的权益，所有业务请在{off}办理，{st}不会用{ch}联系您",
    "{st}不提供任何付费代办服务，{svc}都可以在{off}免费办理，请勿{ask}",
    "{who6}的个人联系方式我们不能透露，有问题我在这里帮您沟通",
    "这个不行的，{st}员工不能{ask2}，{svc}可以在{off}完成",
    "建议您不要{ask}哦，私下交易没有保障，出了问题平台也无法介入",
    "{svc}只能按规定和凭证来，这个忙我帮不了，您先在{off}上传材料",
    "没有什么内部渠道哦，所有优惠都在{off}公示，请不要相信私聊拿优惠的说法",
    "{st}员工不会{ask2}，请拒绝{ask}，我这边会核实情况",
    "Sorry, I can only help through this official chat; please don't {ask_en}.",
    "For your safety, we never ask customers to {ask_en}. Please stay in the app.",
]
ASK2_6 = ["代收任何款项", "收取现金", "私下收款", "加客户的微信", "要求转账到个人账户", "收任何礼物"]
ASK_EN6 = ["pay outside the app", "transfer money to a personal account", "add staff on WeChat",
           "share your screen", "send a deposit by bank transfer"]
WHO6 = ["业主", "导游", "师傅", "医生", "老师", "骑手", "司机", "房东", "理赔员", "顾问"]
SVC6 = ["退款", "理赔", "还款", "积分兑换", "补贴发放", "改签", "维修", "报名", "开户", "续费"]
FEE6 = ["加急费", "手续费", "辛苦费", "茶水费", "好处费", "服务费", "保证金", "解冻费", "红包", "烟钱"]
DECL6_C = [
    "什么{fee}？我不交，该排多久排多久", "啥叫表示一下？我不搞这些，按规矩办就行",
    "啊？这不就是{scheme}么，我不干，按实际的来", "{fee}我不给，你们按流程办",
    "不了，我还是{pay_ok}，到时候有纠纷也有个说法", "我还是{pay_ok}吧，个人账户我不敢转，出事说不清",
    "{offer6}？我不{verb6}，我直接去{off_c}问", "你说{offer6}？算了吧，我只在{off}付",
    "群就不进了，有问题我在这里问就行", "{app6}我就不加了，在这儿说吧", "你不用给我便宜了，我还是在App上付吧",
    "官方还让{ask}？骗子吧，我在{off}办", "私下的我不碰，{svc}走正规流程",
    "号码就不留了，平台上联系就好", "我不会转给个人的，要付就在{off}付",
]
DECL6_A = [
    "{fee6}就不必了，{svc}进度我帮您查了，请留意通知", "不用不用，我尽量给您安排，{fee6}您留着",
    "{fee6}我可不敢要，整不好饭碗都没了，{svc}我帮您尽量往前报",
    "感谢您的心意，但{fee6}我们不能收，{svc}是统一标准，无法调整",
    "{svc}是按标准审核的，我们这边无法通融，{fee6}也请不要给哦",
    "谢谢，{fee6}就免了，我按流程帮您跟进", "唔使啦，我哋唔收{fee6}，{svc}我会跟实",
    "您说要{offer6}？这个真不行，{svc}只能在{off}处理",
    "{fee6}请您收回，该帮的我都会帮", "{offer6}这个我们不接受，还是麻烦您在{off}操作",
    "保费不能交给我个人哦，我教您在{off}操作，很简单的",
    "{pay_obj}必须转入公司对公账户，不能转给我个人，这是为了保障您的权益",
    "{who6}的私人号码不方便提供，您可以在{off}预约，一样能联系到",
]
SCHEME6 = ["骗保", "刷单", "套现", "做假账", "虚开发票", "代考"]
PAY_OK6 = ["线上付", "到店刷卡交", "打公司账户", "在App里付", "走平台付", "去柜面交"]
OFFER6 = ["加微信给优惠", "先交钱扫码", "私下转账", "付现金打折", "进内部群", "扫你的码", "转到你卡上",
          "给你点辛苦费", "请你吃饭", "送你购物卡"]
VERB6 = ["扫", "转", "加", "付", "进", "弄"]
OFF_C6 = ["窗口", "营业厅", "柜台", "门店", "App客服"]
APP6 = ["微信", "QQ", "小红书", "抖音", "Soul", "闲鱼", "钉钉", "Telegram"]
PAY_OBJ6 = ["购车款", "房款定金", "学费", "保费", "维修款", "首付"]
# positives
CONT6_C = [
    "你是不是在{app6b}上也有号？加一下呗", "我{app6b}同名，你搜一下私我", "具体的看我主页简介，那里写了怎么找我",
    "群号在我昵称后面，进群细聊", "我们自己建了个群，群号 {grp}，你也进来吧", "来我们{app6b}群吧，那边说话方便",
    "{app6b}搜我名字\"{nick}\"，头像是{ava}", "我{where6}挂了同款，你搜\"{nick}\"，在那边拍更便宜",
    "要不出来碰个头，当面{what6}", "我就在你们{place6}附近，你出来一下，当面说比较好",
    "{tp}电话能给我吗？我想自己跟他谈，你们的费用太高了", "把{tp}的私人号码发我，我直接找他",
    "整个{ch6}唠唠呗，这平台打字太墨迹了", "你{ch6}多少，我加你细聊", "加你{q6}细聊",
    "地址在签名里，加了直接找我", "你把你{ch6}写在评价里，我看到就加",
]
CONT6_A = [
    "这边窗口一会儿会关闭，我用自己手机给您发短信接着聊", "以后别在平台找了，加我{ch6}直接找我，{ch6}在签名里",
    "我们有个老客群，群号在我昵称后面，加群了解", "我的{app6b}号就是店名，私信我有隐藏价",
    "您留个能联系的号，我下班后私下跟您说", "我主页简介有联系方式，那边说方便",
    "扫一下我头像里的码，加了细聊", "包裹卡片上有我{ch6}，加了有惊喜",
]
BRIBE6_C = [
    "这个{x6}能不能快点？我们会有所表示的", "你帮我这次，以后有啥需要尽管开口，我在{org6}有人",
    "{x6}你帮忙打个招呼，我这边肯定不会亏待你的，懂我意思吧", "{x6}办成了，{gift6}少不了你的",
    "能不能帮我{x6}？回头请你们{team6}吃饭", "{x6}的事你跟{tp}说一声，我请他吃个饭",
    "{x6}麻烦通融一下，我给您买点{gift6}过去", "你帮我{x6}，我送你{vcur}，直接充到你账号",
    "你帮我{x6}，{amt6}给你当茶水费，现金给你，不留记录", "帮我{x6}，删一个给你{amt6}，微信发你",
    "先做我的，我另外塞{amt6}给你们", "能不能帮忙打点一下，费用我出，多少都行",
    "中秋给{tp}和你都备份礼，{x6}的事就拜托了", "{x6}要是能成，年底我给你包个大的",
]
BRIBE6_A = [
    "{x6}这事不好办，得看您的意思了", "想快的话大家都懂的，您看着给", "{x6}可以帮您，不过得意思意思",
    "好评截图发我{ch6}，我{ch6}转你{amt6}", "{x6}我可以帮您走个特殊通道，您表示一下就行",
]
PAY6_C = [
    "{fee}我直接给你现金吧，你帮我去交", "货到了我当面给你现金，不走平台了", "你那个收款码再发一次，刚才那个过期了，我转你",
    "下次到店扫你们门口的个人收款码，线上这单帮我退了", "{fee}我还是直接给您吧，平台抽成太多了，您也多拿点",
    "你去我另一个店拍那个1块钱的链接，拍{n6}件，就当补差价", "私下收，{alipay}结，要的吱一声",
    "多少钱你说，我直接转你，私下帮我搞一点", "钱我直接打你卡上，别走{off}了",
    "{fee}能不能转你个人{alipay}？便宜点就行",
]
PAY6_A = [
    "别在这里付了，直接碰一碰我的手机，NFC付款秒到", "您的{svc}需要先缴{amt6}，扫我发的这个二维码支付",
    "{fee}直接转我{alipay}，不用走系统", "尾款当面给我现金就行，我给您少点",
    "您扫一下我个人的收款码，比平台便宜", "这边有个内部付款链接，点进去付就行",
]
X6 = ["审批", "理赔", "定损", "换班", "加急", "排期", "额度", "删差评", "改日期", "插队", "过户",
      "签证", "核保", "营业执照", "报名名额"]
ORG6 = ["税务局", "你们总部", "区政府", "银行", "交警队"]
TEAM6 = ["科室", "部门", "组里", "店里"]
GIFT6 = ["水果", "茶叶", "好酒", "购物卡", "烟", "土特产", "咖啡豆"]
VCUR6 = ["一万点券", "五千金币", "两张京东卡", "一张超市卡", "一箱好烟", "Q币"]
AMT6 = ["五十", "两百", "2000", "一千", "二十块", "三百", "500"]
TP6 = ["房东", "师傅", "医生", "老师", "工程师", "定损员", "司机", "主管"]
WHERE6 = ["闲鱼上", "转转上", "朋友圈", "拼多多小店", "另一个店"]
NICK6 = ["柚子不酸", "小七的店", "阿杰数码", "木子李", "杭州二手好物"]
AVA6 = ["只橘猫", "一朵向日葵", "个卡通头像", "我的自拍"]
WHAT6 = ["把货和钱都结了", "把事情说清楚", "把钱给你", "签个私下协议"]
PLACE6 = ["仓库", "分行楼下", "门店", "公司楼下", "小区门口"]
APP6B = ["Soul", "小红书", "抖音", "闲鱼", "微博", "dc服务器", "Discord", "tg", "陌陌", "探探", "ins",
         "钉钉", "快手"]
CH6 = ["微信", "vx", "威信", "V", "薇", "qq", "扣扣", "企鹅", "手机号", "电话", "wei xin", "dian hua"]
Q6 = ["q", "v", "wx", "vx", "扣"]
ALIPAY6 = ["支付宝", "微信", "zfb", "吱付宝", "银行卡", "云闪付"]
NEG6 = [
    "{ch_off}里也能{svc_n}吗？我在外地不方便", "派件的时候打我电话哈，号码就是订单上那个",
    "双十一付的定金能退吗？尾款我不想付了", "谢谢你啊，耐心得很，我给你点个五星好评",
    "你帮我看看这个月的{bill}为啥那么高，咋整的", "酒店前台电话能给我吗？想确认下能不能带宠物",
    "{tp}说让我下次直接找他，这个可以吗？我没答应", "我想请{tp}吃饭表示感谢，但听说不能收，那就送面锦旗吧",
    "微信支付和支付宝都能用吗", "请问可以用微信支付付尾款吗", "官方红包雨几点开始", "平台发的红包券怎么用",
    "我的收款账户改了，在App里怎么改", "客服能回拨给我吗？用我注册的那个号就行",
    "订单预留的手机号是旧的，我在App里改了", "礼品卡余额怎么查", "购物卡能在App里绑定吗",
    "扫码点餐的码在桌角", "门店的收款码是官方的吗？我想确认一下", "NFC刷公交卡怎么开通",
    "你们小程序在微信里搜什么", "抖音直播间下单能开发票吗", "小红书上看到你们的活动，还有吗",
    "群里发的活动是官方的吗？我没加", "老规矩，还是要不辣的", "诚意满满的服务，谢谢",
    "我请同事吃饭用的券能开发票吗", "茶水间的饮料是免费的吗", "心意卡可以写什么字",
]
CH_OFF6 = ["微信公众号", "微信小程序", "支付宝小程序", "官方App", "官网"]
SVC_N6 = ["报案", "查进度", "退款", "预约", "开发票", "挂号"]
BILL6 = ["话费", "电费", "流量费", "物业费", "账单"]
NOTICE6_A = [
    "酒店总机是 {land}，订单详情页点\"联系酒店\"也能直接拨打", "急诊可直接拨打120，院内急诊科电话为 {land}",
    "营业厅座机 {land}，工作日9点到5点", "您可拨打官方客服热线，由客户经理通过官方渠道回电",
    "您的紧急联系人已更新，请在App里核对", "工单号 {code}，请在App里查询进度",
]

CONT6_MORE = [
    "{tp}你{app6b}号多少啊？我去你直播间找你", "你{app6b}号是哪个，我关注你私聊", "{tp}{app6b}号发我一下，以后在那边问你",
    "号码前三位是{cn3}，剩下的我下次再告诉你", "后四位是 {sp4}，前面的你看我发的截图就知道了",
    "前面是{cn3}，后面的我等下分开发", "刚才那个号后八位是 {d4} {d4b}，前面的你知道的",
    "加下店里的卫星，名字叫\"{nick}\"，那边有专属群", "我在红薯发了笔记，你去搜\"{nick}\"私信我",
    "加我薇❤，搜 {lid6} 就行", "绿泡泡搜{nick}，头像是{ava}", "企鹅号在我主页，加了细聊",
]
PAY6_MORE = [
    "这是我们内部的{svc}链接 {dom}/pay?id={d4}，比App快到账", "点这个内部缴费链接 {dom}，平台上不显示",
    "{x6}的事别在单子上写了，我给你现金，咱俩都省事", "我能直接把钱给{tp}吗，App上付不了",
    "不进购物店的话我私下给你补{amt6}，行吗", "{fee}您私下转我吧，系统里加不了",
    "{fee}我先转给你，你帮我代办行不行", "直接微信转你{fee}行不行，账你帮我平了",
]
BRIBE6_MORE = [
    "能不能帮我{x6}？事后必有重谢", "{x6}这事您多费心，回头好好感谢您", "这事要是成了，我不会忘了你的",
    "帮我{x6}，好处少不了你", "{x6}您帮个忙，我请您和家人出去玩一趟",
]


def _fill6(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    return t.format(
        st=R.choice(STAFF6), ch=R.choice(CHAN6), ask=R.choice(ASK6), ask2=R.choice(ASK2_6),
        off=R.choice(OFFICIAL6), svc=R.choice(SVC6), who6=R.choice(WHO6),
        ask_en=R.choice(ASK_EN6), fee=R.choice(CASH_FEE), fee6=R.choice(FEE6),
        scheme=R.choice(SCHEME6), pay_ok=R.choice(PAY_OK6), offer6=R.choice(OFFER6),
        verb6=R.choice(VERB6), off_c=R.choice(OFF_C6), app6=R.choice(APP6),
        pay_obj=R.choice(PAY_OBJ6), app6b=R.choice(APP6B),
        grp=" ".join([d(2), d(2), d(2), d(3)]), nick=R.choice(NICK6), ava=R.choice(AVA6),
        where6=R.choice(WHERE6), what6=R.choice(WHAT6), place6=R.choice(PLACE6),
        tp=R.choice(TP6), ch6=R.choice(CH6), q6=R.choice(Q6), x6=R.choice(X6), org6=R.choice(ORG6),
        team6=R.choice(TEAM6), gift6=R.choice(GIFT6), vcur=R.choice(VCUR6), amt6=R.choice(AMT6),
        alipay=R.choice(ALIPAY6), n6=R.randint(20, 300), ch_off=R.choice(CH_OFF6),
        svc_n=R.choice(SVC_N6), bill=R.choice(BILL6),
        land=f"0{R.choice(['21', '898', '10', '755'])}-{d(8)}", code="GD" + d(8),
        cn3=R.choice(["一五八", "一三九", "幺三八", "壹伍捌", "186", "1 3 7"]),
        sp4=" ".join(d(4)), d4=d(4), d4b=d(4),
        lid6=R.choice(["laoshi", "kefu", "lily", "xiaowang", "tt"]) + " 后面跟 " + " ".join(d(4)),
        dom=R.choice(["bank-inner-pay.com", "edu-vip-pay.cn", "pay-internal.net", "fast-pay.vip",
                      "hx-pay.top"]))


def _collector(out: list[dict[str, object]], cantonese: float, as_written: str | None = None
               ) -> Callable[[str, str, list[str], str, str], None]:
    """`add(text, role, label, kind, domain)` for the v6+ sections: a Chinese line becomes
    Cantonese with probability `cantonese`, else gets a disguise; English lines and kinds
    starting with `as_written` stay as written (one random draw per line either way)."""

    def add(text: str, role: str, label: list[str], kind: str, domain: str) -> None:
        tag = "plain"
        x = R.random()
        if text.isascii() or (as_written is not None and kind.startswith(as_written)):
            pass
        elif x < cantonese:
            text, tag = _dialect5(text), "cantonese"
        else:
            text, tag = _disguise(text)
        out.append({"text": text, "role": role, "label": label, "kind": f"{kind}/{tag}",
                    "domain": domain})

    return add


def _lead(core: str, role: str, pool: list[str], long: float = 0.15) -> str:
    """A v6+ line with a conversational opener, sometimes inside a long message."""
    if core.isascii():
        return core
    return _wrap(R.choice(CN5_PREFIX) + core, role, pool, R.random() < long)


def lines_v6() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    add = _collector(out, cantonese=0.1)
    lead = _lead

    plan: list[tuple[int, list[str], str, list[str], str, float]] = [
        (500, WARN6_A, A, [RF], "refusal6-warn", 0.1),
        (350, DECL6_C, C, [RF], "refusal6-cust", 0.1),
        (350, DECL6_A, A, [RF], "refusal6-agent", 0.1),
        (300, CONT6_C, C, [CT], "contact6-cust", 0.2),
        (150, CONT6_A, A, [CT], "contact6-agent", 0.2),
        (350, BRIBE6_C, C, [BR], "bribe6-cust", 0.2),
        (100, BRIBE6_A, A, [BR], "bribe6-agent", 0.1),
        (250, PAY6_C, C, [PY], "payment6-cust", 0.2),
        (150, PAY6_A, A, [PY], "payment6-agent", 0.1),
        (250, CONT6_MORE, C, [CT], "contact6-more", 0.2),
        (80, CONT6_MORE, A, [CT], "contact6-more-agent", 0.1),
        (250, PAY6_MORE, C, [PY], "payment6-more", 0.2),
        (150, BRIBE6_MORE, C, [BR], "bribe6-more", 0.2),
        (450, NEG6, C, [], "negative6", 0.15),
        (150, NOTICE6_A, A, [], "negative6-official", 0.0),
    ]
    for count, pool6, role, label, kind, long in plan:
        for _ in range(count):
            d, pool = _domain()
            core = _fill6(R.choice(pool6))
            add(lead(core, role, pool, long), role, label, kind, d)
    return out


# --- v7 (session 6): written after studying rounds H and I's held-out errors BY CLASS (no line
# copied), broadened to every domain and both roles: reports of an offer declined (a third
# party's, the agent's own; "I did not add / scan / transfer", "I took a screenshot", "that is a
# scam"), agents denying a scheme exists ("there is no such thing as …"), thanking for a report,
# returning a gift, refusing with "on my side"; pinyin and English declines; positives: implicit
# bribes (a reward promised "after it is done", a fixed kickback, an envelope left, "how will
# you thank me", "the fee is extra"), favours for data (a courier's name and address), scams
# (a "safe account", an unfreezing or verification deposit to a named account), repaying or
# paying through the agent, cash on delivery outside the order, discounts for paying the shop
# or the teacher directly, gift cards and game currency as payment, an agent asking a private
# number to send "internal" material, a private official account, a code in a picture,
# Discord/KOOK handles, English requests; hard negatives: VIN/frame/serial numbers asked, firm
# names holding 薇/微/威, app-directed data plans naming WeChat/Douyin, "a big thumbs-up for you",
# fee-free answers, escrow notices.
REPORTER7 = ["有个自称客服的人", "你们客服", "有个老师", "卖家", "那个销售", "中介", "民宿老板", "世界频道有人",
             "一个自称工作人员的人", "司机师傅", "房东", "理赔员", "群里有人", "快递员", "安装师傅", "导购",
             "你们店员", "上门的工程师", "有个陌生号码"]
RACT7 = ["加他QQ", "加他私人微信", "加他私人号码谈价", "扫他个人收款码交钱", "把学费转他个人微信",
         "私下转账给他", "转到一个安全账户", "先交解冻费", "交一笔保证金到指定账户", "给他现金",
         "用内部链接付款", "去YY频道找他", "下载一个会议软件共享屏幕", "给他发个红包", "私下补他一两千",
         "走线下结算", "去他的抖音私信", "内部充值打五折", "尾款一部分给他现金"]
RDECL7 = ["我没加", "我没扫", "我没转", "我拒绝了", "我没理", "我没答应", "我没信", "我不加", "我觉得不对劲就没弄",
          "我没同意", "我当场就拒绝了", "我一分钱都没给", "我直接拒了", "这种我接受不了", "我没上当"]
RAFTER7 = ["请你们核实一下", "我要举报", "麻烦平台注意一下", "这样合规吗？", "我还是在平台付", "请帮我换个人",
           "感觉是骗子", "你们是不是信息泄露了？", "已经截图了", "想确认一下官方的方式", "请转给纪检部门",
           "我只认订单页面的付款", "要聊就在这里聊"]
REPORT7 = [
    "{who}让我{act}，{decl}，{after}", "{who}说要我{act}，{decl}。{after}", "刚才{who}让我{act}，{decl}，{after}",
    "你刚才让我{act}，我已经截图了，会向平台投诉", "你让我{act}的聊天记录我已经举报给平台了",
    "{who}让我{act}，{after}，{decl}", "我要举报，{who}跟我说想快点就得{act}，这明显不对",
    "别再让我{act}了，我只认官方渠道", "我拒绝{act}，合同里写明了必须通过平台付款",
]
DENY7 = [
    "抱歉，我们这里没有什么“{x7}”，{rule7}", "没有“{x7}”这种说法，{rule7}", "不存在'{x7}'一说，{rule7}",
    "您说的{x7}，那不是我们的人，{staff7}不会{act7}，请不要相信", "{staff7}不会让您{act7}，这是诈骗，请立即停止操作",
    "感谢您举报{who7}{act7n}，我们已{did7}", "{thing7}我这边不能给您，{upload7}", "您发来的{thing7b}我这边不会{use7}，{upload7}",
    "{gift7}我已经请{back7}退还给您了，请您务必收回，{rule7}", "办事不用送任何东西，{gift7}请您带回去，{rule7}",
    "好意心领了，{offer7}这个我这边没法{verb7}，{upload7}", "{offer7}我们这边真的不行，{rule7}",
]
X7 = ["老规矩", "打点", "好处费留房", "内部名额", "加钱插队", "茶水费", "特殊通道", "内部价", "辛苦费", "关系户"]
RULE7 = ["退款审核只看凭证", "评审是公开透明的", "房态以系统显示为准", "排队按提交顺序", "结果以系统审核为准",
         "缺的材料可以在网上补交", "所有费用以订单页面为准", "我会公正对待每位客户"]
STAFF7 = ["官方客服", "银行工作人员", "官方GM", "我们的员工", "平台工作人员", "警方", "本店店员"]
ACT7 = ["在游戏外联系玩家", "把钱转入所谓“安全账户”", "加您私人微信", "让您扫个人收款码", "收取解冻费",
        "索要验证码", "私下收款"]
ACT7N = ["引导线下付款", "私下收红包", "索要好处费", "让您加私人微信", "发内部支付链接"]
WHO7 = ["商家", "该骑手", "这位老师", "那位中介", "该店铺"]
DID7 = ["冻结该店铺的相关权限", "对该员工停职调查", "记录在案并提交合规部门", "下架该商品"]
THING7 = ["私人邮箱", "私人电话", "个人微信", "我的手机号", "私人QQ"]
THING7B = ["二维码", "名片", "微信号", "私人链接"]
USE7 = ["扫描添加", "添加", "点开", "保存"]
UPLOAD7 = ["资料请通过页面上的“上传附件”按钮提交", "图片请直接在对话窗口上传就可以", "有问题就在这里联系我",
           "后续都在App里沟通", "付款请走订单页面"]
GIFT7 = ["红包和土特产", "烟", "购物卡", "这盒茶叶", "水果", "这个信封", "锦旗以外的东西"]
BACK7 = ["门卫", "前台", "同事", "快递"]
OFFER7 = ["加V", "加微信", "私下转账", "收红包", "加QQ", "扫码", "现金"]
VERB7 = ["加", "收", "办", "接受"]
PINYIN_DECL7 = ["bu jia wei xin, you shi jiu zai zhe li shuo", "bu yong le, wo zai ping tai fu",
                "wo bu jia ni vx, zai zhe li liao", "bu yao le, hong bao ni shou hui qu ba",
                "wo bu si xia zhuan zhang, zou ping tai", "suan le, bu jia qq le", "bu fang bian jia wei xin"]
EN_DECL7 = ["No thanks, I won't add you on WeChat, let's keep it here", "I'd rather pay through the app, not to your account",
            "Sorry, I can't accept the gift card, it's against our policy", "Thanks, but I can't take cash outside the system",
            "I won't send money to a personal account, please use the official page", "We don't accept red packets, but thank you",
            "I'm not going to message you on Telegram, keep it in this chat", "Please don't offer tips, I'm just doing my job",
            "Someone asked me to pay him directly, I refused. Is that allowed?", "I reported the seller who asked for my WhatsApp"]
BR7 = [
    "{fav7}，事成之后我私下感谢你，绝对不让你白干", "{fav7}，我这边重谢，绝不让您吃亏", "{fav7}，该打点的我们都准备好了，钱不是问题",
    "{fav7}，以后每个月给你固定返点", "{fav7}，我在您{place7}放了个信封，别嫌少", "{fav7}，我安排了一点{gift7b}，已经寄到您{place7}了",
    "麻烦您高抬贵手，{fav7}，少不了您的好处", "{fav7}，我给您发个{amt7}的红包", "送你一张{card7}，你帮我{info7}",
    "{fav7}，回头请你吃饭再给你包个大的", "{fav7}，我私下给你{amt7}辛苦费", "{fav7}，你开个价",
]
BRA7 = [
    "{case7}本来办不了，不过我可以帮您走个特殊流程，您看看怎么感谢一下我", "我可以帮您在系统里'调整'一下{case7b}，这事有风险，费用另算",
    "{case7}我能帮您搞定，不过得意思意思", "{case7}想快点的话，就看您怎么表示了", "这个{case7b}我可以帮你往前调，不过您得自己'沟通沟通'，一般是这个数",
    "{case7}不是不能办，您懂的，规矩您知道", "我帮您把{case7b}改一下，您随便给点茶水钱就行",
]
FAV7 = ["能不能帮我把时间处理一下", "帮忙递个话", "这个纠纷您判我赢", "活动报名帮我审过", "孩子转学的事您费心",
        "清关这批货帮我通融下", "专家号帮我留一个", "面积帮我按实际算", "差评帮我删了", "名额给我留一个",
        "定损金额帮我写高点", "审批帮我加快", "考核帮我打个高分", "征信帮我修一下"]
PLACE7 = ["办公室抽屉里", "公司前台", "车里", "家门口", "门卫室"]
GIFT7B = ["好茶叶", "土特产", "好酒", "购物卡", "烟"]
AMT7 = ["888", "两千", "500", "一万", "1888", "三百"]
CARD7 = ["星巴克电子券", "京东E卡", "话费充值卡", "视频会员卡", "奶茶券"]
INFO7 = ["查查那个骑手的真实姓名和住址", "查一下这个手机号的机主", "把那个买家的地址发我", "看看她的订单记录"]
CASE7 = ["号码过户的材料不全", "您的征信有点小问题", "这个理赔", "贷款额度", "转学名额", "驾照扣分"]
CASE7B = ["征信记录", "手术排期", "理赔时间", "成绩", "审核结果"]
SCAM7 = [
    "您的{what7}被冻结了，需要先缴纳一笔{fee7}到指定账户，才能原路退回", "为了核查资金，请您把卡里的钱先转入我们提供的安全账户",
    "您的账户存在风险，请把余额转到{acct7}进行保护", "需要先交{fee7}验证还款能力，转到这个账户：{bank7}",
    "请先支付{fee7}到我们的{acct7}，系统核实后全额退回", "按流程您得先把{fee7}打到{acct7}，审核通过就解冻",
]
WHAT7 = ["退款", "账户", "理赔款", "贷款", "提现", "保证金"]
FEE7 = ["解冻保证金", "验证金", "激活费", "保证金", "流水费", "税费"]
ACCT7 = ["安全账户", "指定账户", "监管账户（个人）", "财务的个人卡", "核查账户"]
BANK7 = ["6222 0210 0112 3456 789", "6217 0000 1234 5678"]
PAYC7 = [
    "这单我取消，你们店自己派人送过来，我当面给钱", "我的{loan7}能不能直接还给你？你再帮我存进去",
    "我给你转Q币可以吗？或者京东E卡，你收不收？就不在这拍了", "我给你充{card7}当货款行不行，不走平台",
    "不拍了，你直接送过来我付现金", "我把钱给你，你帮我交{loan7}吧，我不会用手机银行", "订单退了吧，我直接转你，便宜点就行",
]
PAYA7 = [
    "亲，这款现在拍下是{p1}，您如果直接转账给我们的话只要{p2}", "{course7}转到我们老师个人微信更优惠，走官方要多收{amt7}",
    "您别在平台拍了，直接付给我，我按{p2}给您", "走App要多收手续费，您转我个人账户能省{amt7}",
    "这单您取消，货我让人送过去，到时候当面结", "{course7}您直接打给我就行，我开收据",
]
LOAN7 = ["贷款", "房租", "保费", "学费", "话费", "水电费"]
COURSE7 = ["课程费", "学费", "报名费", "团费", "维修费"]
CONTA7 = [
    "这个{plan7}我们内部有一档没上架的优惠，您留个手机号，我私下发资料给您", "您留个私人电话，我下班后打给您细说",
    "这个价格不能公开挂，您关注下公众号'{nick7}'，后台留言找我就行", "我名片的二维码在刚发的那张图右下角，扫一下就行",
    "{plan7}得到外面说，您加一下我图片里的号", "您留个联系方式，有内部名额我第一时间告诉您",
]
CONTC7 = [
    "能不能给我经办人的私人手机？我让单位的人直接跟他对接", "{topic7}的事咱们外面说，你玩dc吗？名字是 {handle7}",
    "你有kook吗？频道号 {d5}，进来聊", "{topic7}的事去tg说，我叫 {handle7}", "能把{staff7b}的私人电话给我吗，我直接找他",
    "你们那个{staff7b}的手机号多少，我私下问问",
]
PLAN7 = ["套餐", "理财产品", "保险方案", "团购", "课程"]
NICK7 = ["小陈私人定制游", "王姐内部优惠", "阿杰私人管家", "李老师答疑"]
TOPIC7 = ["代充", "代练", "账号交易", "门票", "低价机票"]
HANDLE7 = ["shadowfox#2281", "nightowl#0420", "kk_sun#7788", "wolf_99"]
STAFF7B = ["经办人", "定损员", "客户经理", "审核员", "主管"]
EN_POS7 = ["Can you give me your personal number? I'll call you after work", "Let's move this to WhatsApp, my number is {ph}",
           "Pay me directly by bank transfer and I'll give you 20% off", "I can send you cash if you skip the app fee",
           "If you approve my claim quickly there's a red packet for you", "Add me on Telegram, my handle is {id}",
           "I'll transfer the deposit to your personal account, ok?", "Do me this favour and I'll make it worth your while",
           "Send me your WeChat QR code", "Cancel the order and I'll pay you in cash on delivery",
           "Transfer the balance to this safe account to protect it", "A little gift card for you if you push my refund through"]
NEG7 = [
    "这台车的VIN码是多少？我想查一下出险记录", "车架号后六位是多少？", "发动机号在哪看", "设备序列号在哪里找",
    "发票抬头：{city7}{firm7}有限公司，税号 91330106MA2B3C4D5E", "我们公司叫{city7}{firm7}，开票用这个名字",
    "我套餐里有多少G定向流量？刷抖音和用微信算不算？", "定向流量包含微信和QQ吗", "用微信视频通话耗流量多吗",
    "感谢你的耐心解答，给你点个大大的赞👍", "谢谢小哥，给你点赞了", "服务很好，给你五星加点赞",
    "在医生主页点击申请加号，填写病情描述后等待审核即可，不收取额外费用", "开车前8天以上退票不收费",
    "定金请通过平台资金监管账户支付", "红包封面在哪里设置", "微信支付分可以先用后付吗", "抖音上买的券能在门店用吗",
    "QQ音乐会员能一起开吗", "我刚用微信付了，订单显示未支付", "支付宝红包抵扣怎么用", "用京东E卡在App里付款可以吗",
]
CITY7 = ["杭州", "上海", "深圳", "成都", "广州"]
FIRM7 = ["薇薇服饰", "微创科技", "威信物流", "维信电子", "卫星通讯", "QQ餐饮", "红包文化"]


def _fill7(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    p1 = R.choice([399, 599, 1280, 88, 2999])
    return t.format(
        who=R.choice(REPORTER7), act=R.choice(RACT7), decl=R.choice(RDECL7), after=R.choice(RAFTER7),
        x7=R.choice(X7), rule7=R.choice(RULE7), staff7=R.choice(STAFF7), act7=R.choice(ACT7),
        act7n=R.choice(ACT7N), who7=R.choice(WHO7), did7=R.choice(DID7), thing7=R.choice(THING7),
        thing7b=R.choice(THING7B), use7=R.choice(USE7), upload7=R.choice(UPLOAD7),
        gift7=R.choice(GIFT7), back7=R.choice(BACK7), offer7=R.choice(OFFER7), verb7=R.choice(VERB7),
        fav7=R.choice(FAV7), place7=R.choice(PLACE7), gift7b=R.choice(GIFT7B), amt7=R.choice(AMT7),
        card7=R.choice(CARD7), info7=R.choice(INFO7), case7=R.choice(CASE7), case7b=R.choice(CASE7B),
        what7=R.choice(WHAT7), fee7=R.choice(FEE7), acct7=R.choice(ACCT7), bank7=R.choice(BANK7),
        loan7=R.choice(LOAN7), course7=R.choice(COURSE7), p1=p1, p2=int(p1 * 0.85),
        plan7=R.choice(PLAN7), nick7=R.choice(NICK7), topic7=R.choice(TOPIC7),
        handle7=R.choice(HANDLE7), staff7b=R.choice(STAFF7B), d5=d(5), city7=R.choice(CITY7),
        firm7=R.choice(FIRM7), ph=R.choice(PHONES), id=R.choice(IDS))


def lines_v7() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    add = _collector(out, cantonese=0.1)
    lead = _lead

    plan: list[tuple[int, list[str], str, list[str], str, float]] = [
        (450, REPORT7, C, [RF], "refusal7-report", 0.2),
        (350, DENY7, A, [RF], "refusal7-agent", 0.1),
        (60, PINYIN_DECL7, C, [RF], "refusal7-pinyin", 0.0),
        (60, EN_DECL7, A, [RF], "refusal7-en-agent", 0.0),
        (60, EN_DECL7, C, [RF], "refusal7-en-cust", 0.0),
        (350, BR7, C, [BR], "bribe7-cust", 0.25),
        (200, BRA7, A, [BR], "bribe7-agent", 0.1),
        (200, SCAM7, A, [PY], "payment7-scam", 0.1),
        (200, PAYC7, C, [PY], "payment7-cust", 0.15),
        (200, PAYA7, A, [PY], "payment7-agent", 0.1),
        (150, CONTA7, A, [CT], "contact7-agent", 0.1),
        (150, CONTC7, C, [CT], "contact7-cust", 0.15),
        (150, EN_POS7, C, [], "en7-pos", 0.0),
        (450, NEG7, C, [], "negative7", 0.15),
    ]
    en_labels = [[CT], [CT], [PY], [PY], [BR], [CT], [PY], [BR], [CT], [PY], [PY], [BR]]
    for count, pool7, role, label, kind, long in plan:
        for _ in range(count):
            d, pool = _domain()
            if pool7 is EN_POS7:
                i = R.randrange(len(EN_POS7))
                add(_fill7(EN_POS7[i]), R.choice([C, A]), en_labels[i], kind, d)
                continue
            core = _fill7(R.choice(pool7))
            add(lead(core, role, pool, long), role, label, kind, d)
    return out


# v8 (session 6): written after the first-sight misses and false positives of rounds J–M were
# recorded BY CLASS only (docs/SCREENING.md; no line of a round read or copied): crypto
# payment, cash in person, Cantonese/traditional cash and private accounts, gift cards as money,
# Telegram/Discord/Soul handles, review cashback, numbers on boxes and parcel cards, booking
# direct or offline orders, home visits and private tutoring, gifts for priority; hard
# negatives: masked numbers and e-mails in official notices, codes and flight numbers holding
# QQ, reports of someone else's offer, English refund and driver questions.
COIN8 = ["USDT", "usdt", "U", "泰达币", "比特币", "BTC", "以太坊", "ETH", "虚拟币", "数字货币", "币"]
NET8 = ["TRC20", "ERC20", "波场链", "币安", "欧易", "火币"]
WALLET8 = ["T9yK3mQx8PzR2", "0x7a3f9c2e81", "TXq8Lm5RkW2d", "bc1q9xk7pw3"]
CRYPTO8 = [
    "直接用{coin8}付吧，我给你{net8}地址", "{fee8}可以打{coin8}吗？走{net8}", "我这边收{coin8}，汇率按今天算",
    "转{coin8}到这个钱包：{w8}", "不走平台了，{amt8}我用{coin8}结给你", "能不能用{coin8}结算，平台扣点太多",
    "{coin8}到账就给你办", "你有{net8}账户吗？{coin8}转你更快", "付{coin8}的话给你打九折",
    "把{fee8}换成{coin8}打我钱包里", "钱包地址发你了，{amt8}块等值的{coin8}",
]
CASHMEET8 = [
    "我们约个地方见面，{fee8}我当面给你现金", "明天{place8}见，你把现金带来", "见面一手交钱一手交货，不走平台",
    "退款我当面退你现金就行，不用走系统", "你到{place8}来，我把{fee8}现金给你", "下班后{place8}碰个头，现金结清",
    "约个时间当面交易，现金给你便宜{amt8}", "钱我见面给你，别在App里付了", "当面点清现金，平台那边就取消吧",
    "我直接来你们{place8}交现金，不经过线上", "见面付现，你给我个地址",
]
HKCASH8 = [
    "我直接俾現金你啦，唔使經平台", "過數去我私人戶口就得", "轉數快俾我，唔好經App", "{fee8}俾現金，平啲",
    "我私人戶口收錢快啲", "你過數俾我，我即刻幫你搞", "現金交收，見面再講", "唔經系統，直接俾我就得",
    "入錢落我個人帳戶，唔使手續費", "用PayMe俾我，唔好喺App度付",
]
GIFTCARD8 = [
    "{fee8}用{card8}抵可以吗，卡密发你", "我给你一张{amt8}的{card8}当作付款", "不用转账，{card8}卡号密码直接给你",
    "收{card8}吗？面值{amt8}，就当{fee8}了", "你要{card8}的话，我拍卡密给你抵钱", "付款用{card8}，比平台便宜",
    "{amt8}块的{card8}给你，就不在线上付了",
]
HANDLE8 = ["@lucky_{d3}", "@amy{d4}", "@sz_{d3}_k", "nightcat#{d4}", "moon_{d3}", "fox{d4}"]
CHAN8 = ["Telegram", "TG", "tg", "电报", "飞机", "纸飞机", "Discord", "dc", "Soul", "soul", "電報"]
HANDLES8 = [
    "{chan8}搜{h8}，那边聊", "上{chan8}找我：{h8}", "有事{chan8}私我 {h8}", "我{chan8}是{h8}，加一下",
    "你有{chan8}吗？{h8}", "这里不方便，{chan8} {h8} 详聊", "留个{chan8}吧，方便后面联系",
    "加我{chan8}，用户名{h8}", "你{chan8}号多少？我私你",
]
CASHBACK8 = [
    "给个五星好评，我私下返你{amt8}块", "好评晒图后加我，返现{amt8}", "追评带图，{amt8}元红包私下给你",
    "删掉差评我返你{amt8}", "好评截图发我，我转你{amt8}", "好评返现不在平台，加我领",
    "五星好评的话，差价我私下退你", "写个好评我给你补{amt8}块",
]
BOXNUM8 = [
    "我电话写在{box8}上了，有事直接打", "{box8}上有我微信，扫一下加我", "以后直接打{box8}上那个号码找我",
    "{box8}背面有我的私人号，下次不用走平台", "{box8}上贴了我的二维码，加了直接约", "号码在{box8}上，记下来",
    "看一下{box8}，上面有我手机，私下联系",
]
BOX8 = ["包裹卡", "快递盒", "箱子", "工具箱", "床头卡", "售后卡", "名片", "外卖袋", "小票"]
DIRECT8 = [
    "你把平台订单取消，直接跟我订便宜{amt8}", "下次别在App订了，直接找我，价格好说", "退了平台的单，我私下给你做",
    "直接订我们{place8}，不走平台省佣金", "线下下单吧，我给你按老客价", "取消订单后联系我，我单独给你安排",
    "下回直接找我接单，平台抽成太高", "不用在线上下单，给我说一声就行，现金结",
]
HOME8 = [
    "我可以上门{svc8}，不通过平台，按次给我", "周末来你家{svc8}，直接付我就行", "私下约{svc8}吧，比平台便宜",
    "以后{svc8}直接找我，上门一次{amt8}", "平台的课退了，我单独给孩子{svc8}", "你加我，我私下上门{svc8}",
]
SVC8 = ["补课", "辅导", "私教", "上门维修", "保洁", "按摩", "陪诊", "家教"]
PRIORITY8 = [
    "给你带箱{gift8}，帮我排前面", "请你吃顿饭，我的单先处理", "送你点{gift8}，优先安排我",
    "{gift8}已经放你{place8}了，帮我插个队", "我给师傅带了{gift8}，先给我修好不好", "给你点{gift8}，早点给我排号",
    "你帮我优先办，回头请你吃饭", "送你一盒{gift8}，加急一下",
]
GIFT8 = ["水果", "茶叶", "月饼", "点心", "烟", "酒", "奶茶", "咖啡"]
PLACE8 = ["楼下", "门店", "地铁站", "公司门口", "前台", "小区门口", "酒店大堂"]
FEE8 = ["定金", "尾款", "学费", "维修费", "房租", "车费", "保费", "服务费", "差价", "押金"]
CARD8 = ["京东E卡", "礼品卡", "购物卡", "苹果礼品卡", "Steam卡", "充值卡", "星巴克卡", "超市卡"]
AMT8 = ["100", "200", "五十", "三百", "500", "1000", "两千"]

REFUSE8 = [
    "你说用{coin8}付？不行，只能在平台付", "当面给现金就算了，我们只收平台支付", "唔使俾現金我，喺App度付就得",
    "{card8}抵钱不可以，请按平台流程付款", "{chan8}我不加，有事就在这里说", "好评返现我们不做，请如实评价",
    "{box8}上的号码不是让私下联系的，请在平台沟通", "不用取消订单私下订，我们不接受", "私下上门{svc8}我不做，请走平台预约",
    "{gift8}就不用了，大家都按顺序来", "你说{place8}见面交钱？不了，我走线上",
    "我不见面交易，退款请原路退回", "我不会加你{chan8}的", "{coin8}我不收，也不建议你这样付",
]
NEG8 = [
    "验证码已发送至{mph}，请勿告知他人", "通知已发至您的邮箱 {mm}，请查收", "尾号{d4}的手机号已完成实名认证",
    "您预留的联系电话{mph}，如需修改请在App内操作", "理赔结果已发送至 {mm}", "账单将发送到 {mm}，如有疑问请致电官方客服",
    "航班号 {al}{d4} 延误了吗", "取件码 QQ{d4}，在驿站取", "预订码 {L}QQ{d3}，入住时出示", "优惠码QQ{d5}怎么用不了",
    "座位是QQ{d3}号吗", "车牌号是粤B·QQ{d3}", "订单编号QQ{d5}{d4}查一下物流",
    "有人自称客服让我加他{chan8}，是你们的人吗？", "我朋友说有个{who8}找他私下收现金，提醒你们注意",
    "投诉：{who8}让我给好评返现，我觉得不合规", "网上有人说可以用{coin8}付你们的订单，真的假的？",
    "我在群里看到有人卖你们的{card8}，是官方的吗", "有个陌生号码说是你们{who8}，让我去{place8}交钱，我没去",
    "When will my refund arrive on my card?", "My driver cancelled and I was still charged, can you refund?",
    "The driver asked me to pay extra for luggage, is that allowed?", "Can the refund go back to my original payment method?",
    "I requested a refund three days ago, any update?", "My driver is not answering, what should I do?",
    "Is the driver allowed to take a different route?", "How long does a refund take to reach my bank?",
    "我在App里转账给商家了，显示成功了吗", "官方门票二维码在哪里查看", "我嘅快遞去咗邊度？單號{d5}",
    "我唔想見面，喺度講就得", "平台的礼品卡可以付这单吗", "好评有积分奖励吗？是平台的活动吧",
    "床头卡上是护士站电话吗", "包裹上贴的是快递员电话吧", "门店预约要在App里下单吗",
    "请问家教老师上门的时间能改吗", "水果什么时候送到", "虚拟币相关的交易平台是禁止的对吧",
]
WHO8 = ["司机", "师傅", "骑手", "老师", "中介", "客服", "快递员", "店员", "理赔员"]
AL8 = ["MU", "CA", "CZ", "QQ", "HO", "ZH"]


def _fill8(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    mph = R.choice(["138****", "1**", "+86 139****"]) + d(4)
    mm = R.choice("abcklmz") + "***" + R.choice(["", "g", "8"]) + "@" + R.choice(MAILS)
    return t.format(
        coin8=R.choice(COIN8), net8=R.choice(NET8), w8=R.choice(WALLET8), fee8=R.choice(FEE8),
        amt8=R.choice(AMT8), place8=R.choice(PLACE8), card8=R.choice(CARD8),
        chan8=R.choice(CHAN8), h8=R.choice(HANDLE8).format(d3=d(3), d4=d(4)), box8=R.choice(BOX8),
        svc8=R.choice(SVC8), gift8=R.choice(GIFT8), who8=R.choice(WHO8), al=R.choice(AL8),
        L=R.choice("ABKMZ"), mph=mph, mm=mm, d3=d(3), d4=d(4), d5=d(5))


def lines_v8() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []

    add = _collector(out, cantonese=0.12, as_written="payment8-hk")
    lead = _lead

    plan: list[tuple[int, list[str], list[str], str, float]] = [
        (160, CRYPTO8, [PY], "payment8-crypto", 0.15),
        (160, CASHMEET8, [PY], "payment8-cash-meet", 0.15),
        (120, HKCASH8, [PY], "payment8-hk", 0.1),
        (100, GIFTCARD8, [PY], "payment8-giftcard", 0.15),
        (140, HANDLES8, [CT], "contact8-handle", 0.15),
        (100, CASHBACK8, [BR], "bribe8-cashback", 0.15),
        (120, BOXNUM8, [CT], "contact8-box", 0.15),
        (120, DIRECT8, [PY], "payment8-direct", 0.15),
        (100, HOME8, [PY], "payment8-home", 0.15),
        (140, PRIORITY8, [BR], "bribe8-priority", 0.15),
        (260, REFUSE8, [RF], "refusal8", 0.15),
        (520, NEG8, [], "negative8", 0.15),
    ]
    for count, pool8, label, kind, long in plan:
        for _ in range(count):
            d, pool = _domain()
            role = R.choice([C, A])
            core = _fill8(R.choice(pool8))
            add(lead(core, role, pool, long), role, label, kind, d)
    return out


# v9 (session 7): breadth, not any round's lines. Written from a brainstorm of what a new
# author would write in domains no generated line had (pets, beauty, fitness, weddings, legal
# advice, utilities, hotels, livestream and second-hand trading, car repair, wholesale,
# ticketing, securities, childcare, photography, flowers), and above all ordinary traffic that
# shares words with the positives: English and mixed service lines of every kind (notices,
# confirmations, requests, replies), official notices with hotlines, accounts and masked
# numbers, questions about in-app features (adding a rider, a tip, an internal transfer, an
# official "channel"), paying in the app by choice, reports of someone else's scheme. Nothing
# was read from N, O or T1-T4 for it (their first-sight class names in docs/SCREENING.md were
# known: held-out figures on N and O after this section are not clean; T1-T4's are).
DOM9: dict[str, list[str]] = {
    "pets": ["狗狗洗澡预约到几点", "猫粮什么时候发货", "寄养要带疫苗本吗", "宠物医院周末开门吗"],
    "beauty": ["美甲可以改到下午吗", "睫毛嫁接要多久", "做完护理能洗脸吗", "会员卡余额还有多少"],
    "fitness": ["私教课能改时间吗", "游泳馆几点关门", "体测报告在哪看", "月卡能暂停吗"],
    "wedding": ["婚纱照选片约在哪天", "样片什么时候出", "跟拍摄影师几点到", "婚车装饰包含在套餐里吗"],
    "legal": ["合同审查要几天", "律师函能加急吗", "咨询费怎么开票", "下次面谈约在周几"],
    "utilities": ["燃气表读数不对", "电费怎么突然变高了", "水管维修什么时候来", "停电通知在哪看"],
    "hotel": ["能延迟退房吗", "早餐几点开始", "房间空调有噪音", "发票能写公司抬头吗"],
    "livestream": ["直播间的券怎么领", "主播说的赠品没收到", "福袋什么时候开奖", "下单后能改颜色吗"],
    "secondhand": ["这台相机还在吗", "能再便宜一点吗", "包邮吗", "有发票和包装盒吗"],
    "car_repair": ["保养要多长时间", "刹车片换了吗", "能开到店里检测吗", "补漆怎么收费"],
    "wholesale": ["起订量是多少", "样品能寄一份吗", "账期能给多久", "开专票要多几个点"],
    "ticketing": ["演唱会门票什么时候出票", "能换座位吗", "实名信息填错了", "电子票在哪看"],
    "securities": ["开户要带什么", "新股中签了怎么缴款", "转账显示银证转账失败", "佣金是多少"],
    "childcare": ["托班几点接孩子", "午餐菜单在哪看", "请假怎么申请", "试听课能约周末吗"],
    "flowers": ["花束能指定时间送吗", "贺卡写什么字", "玫瑰还有货吗", "蛋糕能加字吗"],
}
EN9_ORD = [
    "Your order #{n7} is ready for pickup at counter {d1}, pickup code {d4}.",
    "Hi, I'd like to request a new SIM card, mine was damaged.",
    "Your appointment for {svc_en} on {day} at {hh}:00 is confirmed.",
    "Thanks for reaching out! We'll get back to you within 24 hours.",
    "Could you please resend the invoice to my email on file?",
    "Please reply 1 to confirm your booking or 2 to cancel.",
    "Can I add a second driver to the rental in the app?",
    "How do I add a tip for the rider in the app?",
    "I'd rather pay in the app, is card payment available?",
    "Is there a fee to pay by credit card in the app?",
    "Your refund of {amt_en} has been issued to your original payment method.",
    "Please contact our official hotline {hot} if you need further help.",
    "Your package is out for delivery, the courier will call the number on the order.",
    "Can you change the phone number on my booking? I got a new one.",
    "My pickup number is {d4}, which counter should I go to?",
    "The technician will arrive between {hh}:00 and {hh2}:00, please keep your phone on.",
    "Could you share the store's opening hours and address?",
    "We don't accept cash at the door, all payments are made in the app.",
    "Please do not share your verification code with anyone, including our staff.",
    "Is the deposit refundable if I cancel 48 hours before?",
    "Can you send me the tracking number again?",
    "I paid through the app but the order still says unpaid.",
    "Reminder: your {svc_en} session starts in 30 minutes.",
    "Sure, I'll transfer the ticket to you through the app's transfer feature.",
    "How do I add my family member to the policy in the app?",
    "Our agents will never ask you to pay outside the app.",
    "Can I pay the balance in installments through the app?",
    "The hotel front desk number is on your booking confirmation.",
    "Please scan the QR code at the table to order.",
    "Your account has been verified. Welcome aboard!",
    "Thank you, the issue is fixed now. Have a nice day!",
    "Can I get a receipt for the cash I paid at the store?",
    "Where can I find the WeChat Pay option at checkout?",
    "The driver's plate number is {plate}, he is waiting at gate {d1}.",
    "I want to report a driver who asked me to pay extra, what's the process?",
    "Someone messaged me claiming to be your staff and asked for money. Is that real?",
    "Please add the promo code at checkout, it's SAVE{d2}.",
    "Hello, is anyone there? I've been waiting for a reply.",
    "Got it, thanks. I'll wait for the call.",
    "Could you connect me with a human agent please?",
    "Your lash appointment is booked, please arrive 10 minutes early.",
    "We've received your request and created ticket {n7}.",
    "Please keep all communication in this chat for your protection.",
    "Can I change the delivery address to my office?",
    "Your bill for this month is {amt_en}, due on the {dd}th.",
    "Is there an internal transfer option between my two accounts?",
    "Which channel should I use to file a complaint, the app or the hotline?",
    "I'll pay when it's delivered, through the app as usual.",
    "No worries, take your time.",
    "OK, I've added the rider to my favourites in the app.",
]
SVC_EN = ["haircut", "massage", "car service", "dental check", "piano lesson", "pet grooming",
          "facial", "yoga class", "photo shoot", "nail"]
DAY_EN = ["Monday", "Tuesday", "Friday", "Saturday", "June 3", "the 15th"]
MIX9_ORD = [
    "您的pickup code是{d4}，请到{d1}号柜台取", "SIM卡坏了想补办一张，需要带什么", "appointment已确认，{day_cn}{hh}点见",
    "收到，我们会在24小时内reply您", "invoice能再发一次到我注册的邮箱吗", "order号是{n7}，帮我check一下",
    "App里怎么给骑手加小费", "可以在App里添加常用骑手吗", "请问App里能加第二个联系人吗",
    "你们说的内部渠道是指App里的哪个入口？", "官方渠道是不是就是这个App", "内部转账是指我自己两个账户之间转吗",
    "我还是在App里付吧，放心一点", "我坚持在App里付款，麻烦把链接发在订单里", "我不用现金，App里付可以吗",
    "现金我身上没有，能不能线上付", "不付现金了，我在App里下单", "我想在平台上付尾款，怎么操作",
    "尾款是在App里付还是到店付", "到店付款能刷卡吗", "门店收银台可以用微信支付吗",
    "有人说能绕过平台私下交易，我没理他，跟你们说一声", "我举报一下，有个商家让顾客私下转账", "听说有房东让租客私下付房租，这合规吗",
    "群里有人发所谓内部价，是你们官方的吗", "有个自称经理的人加我好友，你们核实一下", "我收到一条短信说退款要加QQ，是诈骗吧",
    "師傅的電話在訂單詳情裡能看到嗎", "技师的号码打过去是隐私号对吗", "骑手电话显示{mph}，打不通",
    "能帮我联系一下骑手吗", "麻烦让司机打我订单上的电话", "我换号码了，订单联系人帮我改一下",
    "刚才的视频标题写错了，帮我改成“周末探店vlog”", "我的宽带账号是{acct}，帮我查下欠费", "缴费显示账号错误，账号是{acct}",
    "代扣协议在哪里取消", "电费的户号是{acct}，怎么查", "燃气公司的上门人员要收费吗",
]
OFF9 = [
    "【官方通知】客服热线{hot}，24小时服务，请勿相信其他号码", "温馨提示：本平台不会以任何理由要求您私下转账",
    "【反诈提醒】凡是要求加QQ、微信办理退款的都是诈骗，请拨打{hot}核实", "如需投诉请拨打12315或平台客服{hot}",
    "官方客服邮箱：service@{firm_en}.com，请勿回复个人邮箱", "对公账户：{firm_cn}有限公司，开户行以合同为准，请勿转入个人账户",
    "您的工单{n7}已受理，处理结果将通过站内信通知", "【通知】{dd}日02:00-04:00系统维护，届时暂停支付",
    "本次维修费用已在App内结清，无需另付现金", "您尾号{d4}的账户于{hh}:{mm2}入账{amt}元",
    "验证码{d6}，{mm2}分钟内有效，工作人员不会向您索取", "门店地址及电话以App内店铺主页为准",
    "保单号{n7}，如有疑问请拨打官方服务电话{hot}", "温馨提示：请在平台内完成沟通与支付，以保障您的权益",
    "【公告】官方内部渠道仅指本App与官网，其余均为冒充", "预约成功，技师联系方式已隐藏，可在订单页一键拨打",
]
HOT9 = ["95588", "95555", "400-820-{d4}", "400 600 {d4}", "10086", "12345", "95017", "400-{d3}-{d4}"]
FIRM_EN9 = ["hualian", "dingxin", "meituan-help", "jdhome", "travelbee"]
FIRM_CN9 = ["华联", "鼎信", "安达", "云途", "百合"]

# positives in the v9 domains and schemes
CONT9 = [
    "加我{app9}吧，搜{nick9}就行", "{app9}上私信我，名字叫{nick9}", "这边说话不方便，{app9}聊，{nick9}",
    "我{app9}号在个人签名里，去看一下", "我名字后面那串就是{app9}", "门上贴了张纸条，上面有我电话，直接打",
    "座椅后面插着我的名片，有事打名片上的电话", "以前的店长离职了，我把她私人手机给你，直接找她",
    "你把你私人手机号给我，下次直接约你", "主播私人号码能给我吗？我想直接找她订", "我{app9}主页有店铺链接，去那边下单",
    "到我{app9}小店拍，比这里便宜", "约个时间加{app9}，我拉你进群", "以后别在这里约了，{app9}找我",
    "My {app9_en} is {nick9}, text me there", "Can you give me your personal {app9_en}? easier to talk",
    "你手机多少？我直接打给你说", "发个私人邮箱给我，资料我发过去",
]
APP9 = ["钉钉", "飞书", "微博", "快手", "B站", "小红书", "企业微信", "Line", "WhatsApp", "Instagram", "Kakao", "闲鱼"]
APP9_EN = ["WhatsApp", "Line", "Instagram", "Telegram", "Signal", "Kakao"]
NICK9 = ["Lily小铺{d3}", "阿杰修车", "momo_{d4}", "王姐宠物店", "photo_chen{d2}", "小周健身{d3}"]
PAY9 = [
    "{fee9}直接转我支付宝，不用走平台", "转我私人账户就行，{amt}元，不开票", "我们内部价{amt}，不过要私下付",
    "团购的钱接龙后转群主就行，不走平台", "给我打{amt}，我帮你查那个人的信息", "过期的券交{amt}手续费我帮你恢复",
    "{fee9}给我现金，不过系统，省得扣点", "你把钱转我个人卡，我给你打个折", "付Q币也行，{amt}个Q币抵{fee9}",
    "退款我转你私人支付宝，别走平台退了", "比特币付可以吗，你给个地址", "现金揣我兜里就行，加氟的钱不走单",
    "小费给现金吧，不用在App里给", "不走App的话，{fee9}直接扫我个人码", "上门时扫我自己的收款码，比平台便宜{amt}",
    "I'll give you {amt_en} in cash if you skip the app", "Just send the money to my personal account",
]
FEE9 = ["定金", "尾款", "服务费", "课时费", "寄养费", "拍摄费", "维修费", "咨询费", "押金", "门票钱"]
BRIBE9 = [
    "给你发个{amt}的红包，我的单先排", "红包就当定金了，帮我留个好位置", "这点心意你收着，帮我把评分弄高一点",
    "好评我给了，手续费能不能免了，不免我就改差评", "给你{amt}，帮我把那个名额留给我", "下班请你喝茶，审核松一点",
    "我给你买了条烟，放前台了，帮帮忙", "你要是帮我走个后门，{amt}不成问题", "这事办成了不会亏待你",
    "If you can bump my booking up I'll tip you {amt_en}", "A small thank-you gift for you if the claim goes through",
]
REF9 = [
    "红包不用了，我们按顺序来", "您说的私下转账我不能接受，请在App里付款", "{app9}我不加了，有事就在这里说",
    "私人电话不方便给您，可以在订单页一键拨打", "现金我们不收，请在平台支付", "内部价这种说法没有，价格以App为准",
    "那张纸条上的电话别打，请走平台", "礼物我不能收，谢谢您的好意", "I can't take cash, please pay in the app",
    "Sorry, we don't share personal numbers, please keep chatting here", "谢谢，不过我不接受私下交易",
    "你说转你私人支付宝？不了，我走平台退款", "你让我加{app9}？不用了，这里沟通就好",
]

# Reports and questions about someone else's scheme (ordinary: the writer makes no offer),
# composed from a frame, a scheme and an ask, so no one phrasing dominates.
REPORT9_FRAME = [
    "我要举报，{who9}", "跟你们反映个情况：{who9}", "提醒一下你们，{who9}", "之前有个{who9}", "昨天{who9}",
    "上次下单时{who9}", "我朋友说{who9}", "有顾客跟我说{who9}", "你们有个{who9}", "听说{who9}",
    "我看到群里{who9}", "投诉：{who9}",
]
REPORT9_WHO = ["师傅", "司机", "骑手", "房东", "中介", "店员", "主播", "老师", "技师", "摄影师", "回收的人",
               "自称客服的人", "商家", "快递员", "经理", "教练"]
REPORT9_SCHEME = [
    "让我加他微信私下交易", "说付现金能便宜，不用走平台", "让我把尾款转到他个人账户", "在包裹里塞了返现卡",
    "让我取消订单线下找他", "要我给个红包才肯优先处理", "把他私人电话写在了小票上", "让我扫他自己的收款码",
    "说可以用内部价私下买", "让我去抖音小店下单", "问我要支付宝账号说退差价", "说给好评就返现",
    "让我加QQ群领退款", "要我先付定金到他卡上", "说配件他自己带，钱私下给他", "想收我现金小费",
]
REPORT9_ASK = [
    "，我没同意，你们核实一下", "，这正常吗？", "，是你们允许的吗？", "，我拒绝了，请处理", "，你们管不管？",
    "，是不是诈骗？", "，我没理他", "，请平台查一下", "，我截图了", "。我只在App里付款", "",
]
ASK9_RULE = [
    "平台允许{scheme9r}吗？", "如果有人{scheme9r}，我该怎么办？", "{scheme9r}这种情况算违规吗",
    "你们会对{scheme9r}的人怎么处理", "请问{scheme9r}的话平台还保障吗",
]
SCHEME9R = ["私下交易", "让顾客加私人微信", "收现金不走平台", "在包裹里放返现卡", "私下转账付尾款",
            "线下找师傅", "用内部价私下卖", "绕过平台接单"]


def _report9() -> tuple[str, list[str]]:
    """A report (labelled refusal when the writer says they declined, as in the v7 section)."""
    if R.random() < 0.25:
        return R.choice(ASK9_RULE).format(scheme9r=R.choice(SCHEME9R)), []
    ask = R.choice(REPORT9_ASK)
    label = [RF] if any(w in ask for w in ("没同意", "拒绝", "没理", "只在App")) else []
    return (R.choice(REPORT9_FRAME).format(who9=R.choice(REPORT9_WHO))
            + R.choice(REPORT9_SCHEME) + ask), label


def _fill9(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    hh = R.randint(8, 20)
    return t.format(
        n7=d(7), d1=R.randint(1, 9), d2=d(2), d3=d(3), d4=d(4), d6=d(6), dd=R.randint(1, 28),
        hh=hh, hh2=hh + 2, mm2=R.choice(["05", "10", "30", "45"]), svc_en=R.choice(SVC_EN),
        day=R.choice(DAY_EN), day_cn=R.choice(["明天", "周六", "下周一", "3号"]),
        amt_en=R.choice(["$25", "$120", "50 dollars", "HK$300", "¥200"]),
        amt=R.choice(["50", "88", "200", "500", "1000"]), hot=R.choice(HOT9).format(
            d3=d(3), d4=d(4)), plate=R.choice(["B·{}".format(d(5)), "A{}Q{}".format(d(2), d(2))]),
        mph=R.choice(["138****", "1**", "+86 139****"]) + d(4),
        acct=R.choice(["0", "5", "8"]) + d(10), firm_en=R.choice(FIRM_EN9),
        firm_cn=R.choice(FIRM_CN9), app9=R.choice(APP9), app9_en=R.choice(APP9_EN),
        nick9=R.choice(NICK9).format(d2=d(2), d3=d(3), d4=d(4)), fee9=R.choice(FEE9))


def lines_v9() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    add = _collector(out, cantonese=0.08)
    plan: list[tuple[int, list[str], list[str], str, float]] = [
        (700, EN9_ORD, [], "negative9-en", 0.0),
        (700, MIX9_ORD, [], "negative9-mixed", 0.15),
        (400, OFF9, [], "negative9-official", 0.1),
        (260, CONT9, [CT], "contact9", 0.15),
        (260, PAY9, [PY], "payment9", 0.15),
        (160, BRIBE9, [BR], "bribe9", 0.15),
        (240, REF9, [RF], "refusal9", 0.15),
    ]
    for count, pool9, label, kind, long in plan:
        for _ in range(count):
            d = R.choice(sorted(DOM9))
            role = R.choice([C, A])
            core = _fill9(R.choice(pool9))
            add(_lead(core, role, DOM9[d], long), role, label, kind, d)
    for _ in range(700):  # reports and questions about someone else's scheme: ordinary
        d = R.choice(sorted(DOM9))
        text, label = _report9()
        add(_lead(text, C, DOM9[d], 0.15), C, label, "negative9-report", d)
    return out


# ---- v10 (session 8): written from the brief's classes and the known weak classes (reports
# and questions about someone else's scheme, including the company's own staff; English inside
# mixed Chinese/English messages; implicit hints, cash for a waiver, booking direct, numbers on
# objects or in pieces) by general reasoning — no line of any round or author was read for it.
# Composed from parts (frame x actor x scheme x question) so no one phrasing dominates.
REPORT10_ACTOR = [
    "你们的客服", "你们客服小王", "上门的师傅", "你们的业务员", "理赔的工作人员", "贷款经理", "班主任",
    "前台小姑娘", "配送员", "代驾司机", "你们店长", "房屋管家", "护工", "验车的人", "审核员", "售后",
    "保险代理人", "物业的人", "装维师傅", "收件的快递小哥", "带队导游", "驾校教练", "面试官", "体检中心的人",
]
REPORT10_SCHEME = [
    "问我要红包", "暗示我表示一下才好办", "说要请他吃顿饭才能快点批", "让我给点好处费", "让我加他私人微信",
    "给了我一个私人手机号让我以后直接找他", "让我把钱转到他自己的支付宝", "说付现金可以不开票便宜点",
    "让我扫他个人的收款码", "说给他买条烟就帮我插队", "让我别在App下单直接找他", "问我要购物卡",
    "说押金打他卡上就行", "让我在抖音上私信他", "说好评返现要私下转", "让我私下补差价",
    "说不给点辛苦费就一直拖着", "要我发个红包才给我改时间", "让我去他朋友店里买更便宜", "说内部名额要另外交钱",
]
REPORT10_FRAME = [
    "{actor}{scheme}", "刚才{actor}{scheme}", "上周{actor}{scheme}", "今天{actor}上门的时候{scheme}",
    "有个自称{actor}的人{scheme}", "我妈说{actor}{scheme}", "群里有人说{actor}{scheme}",
    "我想确认一下，{actor}{scheme}", "问一下，{actor}{scheme}", "我有点不明白，{actor}{scheme}",
    "说个事，{actor}{scheme}", "我不是很懂，{actor}{scheme}",
]
REPORT10_ASK = [
    "，这是你们允许的吗？", "，这正常吗", "，合规吗？", "，我可以拒绝吧？", "，我该怎么办", "，这样安全吗？",
    "，靠谱吗", "，是真的吗？", "，你们知道这事吗", "，是不是诈骗啊", "，是你们公司的规定吗？",
    "，我要不要理他？", "，请问这是正规流程吗", "，有这个规矩吗？", "。我没给，想问问你们", "？？",
    "，我觉得不对劲", "，我拒绝了，你们查一下吧", "，你们平台怎么说", "",
]
REPORT10_EN_ACTOR = ["the driver", "your agent", "the technician", "a man claiming to be your staff",
                     "the courier", "the tutor", "the cleaner", "your sales rep", "the claims officer",
                     "the landlord", "the delivery guy", "the host"]
REPORT10_EN_SCHEME = [
    "asked me for a red envelope", "told me to add his WeChat", "wanted the deposit sent to his own account",
    "said I could pay cash and skip the app", "asked for a tip in cash", "hinted I should give him something",
    "gave me his personal number", "asked me to scan his own QR code", "asked me to cancel and book with him directly",
    "asked for a gift card to speed things up",
]
REPORT10_EN_ASK = [
    ", is that allowed?", ". Is this normal?", ". Is it legit?", ", should I do it?", ". I said no, please check.",
    ". Is that your policy?", ", is this a scam?", ". What should I do?", ".",
]
REPORT10_MIX = [
    "那个{mix_actor}让我加他WeChat，这个ok吗？", "{mix_actor}问我要cash tip，正常吗", "刚才{mix_actor}说可以pay cash不走app，是真的吗",
    "{mix_actor}给了我他的private number，你们知道吗", "{mix_actor}说deposit打他个人account，我没打",
    "那个{mix_actor}暗示要red packet，这是policy吗？", "你们的{mix_actor}要我transfer到他自己卡上，我拒绝了",
]
MIX10_ACTOR = ["driver", "agent", "sales", "tutor", "host", "cleaner", "courier", "manager", "HR"]
# the agent's side: relaying or answering a report (ordinary; a warning is a refusal)
AGENT10_REPORT = [
    "收到您的反馈，{actor}{scheme}的事我们会核实处理", "感谢举报，{actor}{scheme}属于违规，我们会严肃处理",
    "有客户反映{actor}{scheme}，已经转给合规部门", "您说的{actor}{scheme}这种情况，我们已经记录",
    "这边核实到{actor}确实{scheme}，已经处罚了，给您添麻烦了",
]
AGENT10_ANSWER = [
    "不允许的，{scheme10r}都是违规行为，请不要理会", "平台不会让任何人{scheme10r}，请您拒绝并保留截图",
    "这不是正规流程，{scheme10r}我们是禁止的", "请不要{scheme10r}，一切以App为准",
    "No, that is not allowed. Please keep everything in the app and we will look into it.",
    "Our staff never ask you to {scheme10r_en}. Please decline and report it here.",
]
SCHEME10R = ["私下转账", "给工作人员发红包", "加私人微信", "付现金不开票", "扫个人收款码", "送购物卡"]
SCHEME10R_EN = ["pay them privately", "send a red envelope", "add a personal WeChat", "pay in cash",
                "scan a personal QR code"]

# mixed Chinese/English: ordinary code-switching service lines
MIX10_ORD = [
    "帮我check一下{thing}", "{thing}什么时候update？", "{thing}已经submit了，等审核", "我的account被lock了",
    "麻烦send一下{doc}到我注册的email", "order已经cancel了吗", "refund什么时候到账，status一直pending",
    "tip我已经在App里给了", "我用WeChat Pay付的，显示pending", "可以用Apple Pay吗", "PayPal能付吗",
    "这个case我来follow up，有update第一时间通知您", "meeting改到{time}可以吗", "ETA大概多久？",
    "driver到了吗，我在{place}等", "QR code扫不出来，是App的问题吗", "店里WiFi密码是多少", "VIP会员怎么续费",
    "OK没问题，thanks", "sorry刚看到消息", "这个promo code用不了", "我想upgrade到{plan}", "帮我book一个{time}的slot",
    "invoice title写公司名", "tracking number是{code}吗", "Hi，想问下{thing}的deadline", "请在App里confirm一下",
    "今天的schedule有变动吗", "email收到了，thank you", "这个feature在哪里开", "能不能帮我reset password",
    "check in时间是几点", "我的membership到期了吗", "receipt丢了能补吗", "这个bug什么时候fix",
    "客服hotline是{hot}对吧", "你们official account有公告吗", "WhatsApp上那个是你们官方号吗？我没加",
]
MIX10_THING = ["订单", "退款", "申请", "报销", "保单", "快递", "预约", "工单", "课程", "账单"]
MIX10_DOC = ["invoice", "合同", "报价单", "PDF", "receipt", "保单"]
MIX10_TIME = ["下午三点", "明天上午", "周五", "next Monday", "10:30"]
MIX10_PLACE = ["门口", "B2出口", "lobby", "小区东门", "停车场"]
MIX10_PLAN = ["premium", "family套餐", "pro版", "年卡"]
MIX10_CODE = ["SF{d10}", "YT{d10}", "JD{d10}", "WX{d6}", "HB{d6}"]
# mixed positives and refusals
MIX10_CONT = [
    "加我WeChat吧，ID {id10}", "我whatsapp是{ph}，直接message我", "DM我，Instagram搜{id10}", "我们Telegram聊，{id10}",
    "add我的Line：{id10}，方便一点", "call我{ph}，别在这里说", "私下contact我，微x {id10}", "你的WeChat给我一下，好follow up",
    "以后不用走App，直接text我{ph}", "我发你个QR code，扫了加我",
]
MIX10_PAY = [
    "直接transfer到我personal account，不走App", "cash给我就行，可以给你discount", "pay me directly，比platform便宜{amt}",
    "用PayMe直接转我就行", "deposit先打我私人卡，App上不用付", "尾款private转我，不要在App里付",
    "skip掉平台，手续费就省了，直接转我", "refund我私下转你，不用走system",
]
MIX10_BRIBE = [
    "给你个red packet，帮我rush一下", "帮我approve了，私下给你点tip", "small gift给你，帮忙插个队",
    "事成之后thank you fee少不了你", "给你{amt}块coffee钱，帮我把review删了", "你帮我pass这个audit，我送你gift card",
]
MIX10_REF = [
    "Sorry，私人WeChat不能给您，请在App里联系", "cash我们不收，please pay in the app", "red packet就不用了，thanks",
    "不好意思，personal account我不能收款，请走平台", "我不会加你WhatsApp，有事这里说", "gift card我不能要，谢谢",
]
ID10 = ["lily_{d3}", "kevin{d4}", "mm_{d3}a", "jason.{d3}", "amy{d4}"]
# positives: implicit hints, cash for a waiver, paying to drop a complaint, booking direct,
# numbers on objects or in pieces, a coupon or favour in exchange (every domain, both roles)
POS10_BRIBE_A = [
    "材料是齐的，就是卡在流程上，这种事得有人推一把，您明白吧", "审核松紧全看人，想快点过就得懂点事",
    "{fee}免了也不是不行，你私下给我{amt}现金就当没这回事", "这单我给你特殊处理，你也得意思意思吧",
    "名额紧张，要的话得另外表示一下", "早点批下来也行，就看您有没有这个心了", "这个忙我能帮，不过我也不能白忙活吧",
]
POS10_BRIBE_C = [
    "你把投诉撤了，我给你{amt}，行吗", "检查的时候高抬贵手，回头请您吃饭", "我帮你把记录改一下，你那边别忘了我",
    "早点批下来的话，少不了你的好处", "你帮我把这个差评删了，我私下给你转{amt}", "给我留个好位置，下次给你带两条烟",
    "评分帮我改高一点，回头给你寄点特产", "罚款能不能免了，我私下给你{amt}辛苦费",
]
POS10_PAY = [
    "下次别在App订了，直接打我电话订，便宜{amt}", "直接找我约就行，不用平台抽成，钱转我", "这次{fee}给司机现金，单子我取消掉",
    "{fee}别在系统里付了，到了现场给我现金", "你取消订单，我们私下按原价少{amt}", "报名费先转我个人账户，名额我帮你占",
    "好评截图发我，我私下返你{amt}", "团费接龙后直接转我，不走小程序", "押金我收现金，系统里就不登记了",
]
POS10_CONT = [
    "我号码写在杯底了，有事打给我", "名片压在发票下面，直接打上面的电话", "单据背面有我手机，后八位是{d8}，前面是138",
    "我手机尾号{d4}，前面跟你的一样是139，直接打", "包裹里有张卡片，扫上面的码进群", "下次直接联系我，号码在回执上",
    "我在{app10}上叫{id10}，搜一下", "我把私人号码写在工单备注里了，你看一下", "你留个私人电话，我下次直接找你",
]
APP10 = ["抖音", "小红书", "闲鱼", "快手", "微博", "钉钉"]
FEE10 = ["服务费", "加急费", "罚款", "滞纳金", "手续费", "违约金", "检测费", "车费", "上门费"]
# ordinary lines near those positives: one's own fees, official fee waivers, objects without
# a number, official cards, in-app deals
NEG10 = [
    "{fee}能不能申请减免？走什么流程", "{fee}在App里付了，收据在哪里看", "撤销投诉在哪里操作", "差评可以自己修改吗",
    "发票压在包裹里了吗，没找到", "包裹里的卡片是保修卡吗", "回执上的电话是你们官方客服吧", "杯子底下有个贴纸，是生产日期吗",
    "名额还有吗？在哪里报名", "审核一般要几天", "麻烦帮我加急审核一下，谢谢", "我取消订单会扣钱吗",
    "能申请延期付款吗", "现金券怎么用", "官方的团购链接在哪", "下次我还在App上订",
]


def _fill10(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    return t.format(
        actor=R.choice(REPORT10_ACTOR), scheme=R.choice(REPORT10_SCHEME),
        mix_actor=R.choice(MIX10_ACTOR), scheme10r=R.choice(SCHEME10R),
        scheme10r_en=R.choice(SCHEME10R_EN), thing=R.choice(MIX10_THING), doc=R.choice(MIX10_DOC),
        time=R.choice(MIX10_TIME), place=R.choice(MIX10_PLACE), plan=R.choice(MIX10_PLAN),
        code=R.choice(MIX10_CODE).format(d6=d(6), d10=d(10)), hot=R.choice(HOT9).format(
            d3=d(3), d4=d(4)), id10=R.choice(ID10).format(d3=d(3), d4=d(4)),
        ph=R.choice(["138 {} {}".format(d(4), d(4)), "+852 {} {}".format(d(4), d(4)), "1{}".format(d(10))]),
        amt=R.choice(["50", "88", "200", "300", "500", "1000"]), fee=R.choice(FEE10),
        d4=d(4), d8=d(8), app10=R.choice(APP10))


def _report10() -> tuple[str, list[str]]:
    """A customer's report or question about someone else's scheme: ordinary, or a refusal
    when the writer says they declined."""
    x = R.random()
    if x < 0.2:
        text = (R.choice(REPORT10_EN_ACTOR).capitalize() + " " + R.choice(REPORT10_EN_SCHEME)
                + R.choice(REPORT10_EN_ASK))
    elif x < 0.3:
        text = _fill10(R.choice(REPORT10_MIX))
    else:
        text = _fill10(R.choice(REPORT10_FRAME)) + R.choice(REPORT10_ASK)
    declined = any(w in text for w in ("没给", "拒绝", "I said no", "没打"))
    return text, [RF] if declined else []


def lines_v10() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    add = _collector(out, cantonese=0.05)
    for _ in range(900):
        d = R.choice(sorted(DOM9))
        text, label = _report10()
        add(_lead(text, C, DOM9[d], 0.15), C, label, "negative10-report", d)
    plan: list[tuple[int, list[str], list[str], str, str, float]] = [
        (200, AGENT10_REPORT, [], "negative10-agent-report", A, 0.1),
        (200, AGENT10_ANSWER, [RF], "refusal10-warning", A, 0.1),
        (600, MIX10_ORD, [], "negative10-mixed", "", 0.1),
        (160, MIX10_CONT, [CT], "contact10-mixed", "", 0.1),
        (120, MIX10_PAY, [PY], "payment10-mixed", "", 0.1),
        (100, MIX10_BRIBE, [BR], "bribe10-mixed", "", 0.1),
        (120, MIX10_REF, [RF], "refusal10-mixed", "", 0.1),
        (100, POS10_BRIBE_A, [BR], "bribe10", A, 0.2),
        (120, POS10_BRIBE_C, [BR], "bribe10", C, 0.2),
        (180, POS10_PAY, [PY], "payment10", "", 0.2),
        (160, POS10_CONT, [CT], "contact10", "", 0.2),
        (250, NEG10, [], "negative10-near", "", 0.15),
    ]
    for count, pool10, label, kind, fixed_role, long in plan:
        for _ in range(count):
            d = R.choice(sorted(DOM9))
            role = fixed_role or R.choice([C, A])
            core = _fill10(R.choice(pool10))
            add(_lead(core, role, DOM9[d], long), role, label, kind, d)
    return out


# ---- v11 (session 9): written from the class names docs/SCREENING.md lists for v10's misses
# and false positives (a refusal followed by a hint or a solicited card; a question whether
# something is allowed or safe; gifts sent to a private address; handles on apps the lexicon
# lacks and slang app names; circled or emoji digits; a number buried in a long message) by
# general reasoning. Composed from parts so no one phrasing dominates.
REFUSE11_A = [
    "红包我不能收，公司查得严", "钱我是真不能要", "私下转账我们是不允许的", "平台外的钱我不能收",
    "礼物就别送了，我们有规定", "现金我这边不收", "这个真不用，领导盯着呢", "好处费什么的千万别提",
    "您的心意我领了，红包退给您了", "私人微信不方便给您",
]
HINT11_BRIBE = [
    "不过您要实在过意不去，下回来带{gift}放前台就行", "不过我平时就爱{hobby}，您懂的",
    "您要真想谢我，{gift}寄到我家里就行，地址我私信您", "回头请我{meal}就算扯平了",
    "心意嘛，{gift}我倒是不会拒绝", "等事办完了，您看着安排就行，大家都懂",
    "下次来的时候顺手带点{gift}，我帮您盯着进度", "不过您要是方便，给我家孩子带点{gift}也行",
]
HINT11_PAY = [
    "不过可以转我爱人账户，卡号回头发您", "您要是方便，到店里给我现金就行", "不过可以先转我朋友的支付宝，他帮我收",
    "这样吧，差价您直接给我，不用走系统", "但您可以扫我老婆的收款码",
]
HINT11_CONT = [
    "不过您可以在{app11}上搜我名字", "有事可以打我另一个号，尾号{d4}", "不过我{app11}号跟手机号一样，您懂的",
    "但您可以在{app11}上私信我", "下班后您{app11}找我就行",
]
REFUSE11_C = [
    "私下转账我就不做了", "红包我就不发了，怕给你惹麻烦", "我不加你微信了", "现金就不给了，按规定来",
]
HINT11_C = [
    "不过你要是帮我{favour}，我给你寄点{gift}到家里", "但你帮我{favour}的话，{gift}少不了你的",
    "不过事办成了我请你{meal}", "但你把地址给我，我寄点{gift}过去，就当交个朋友",
]
GIFT11 = ["两条烟", "一盒茶叶", "几瓶好酒", "土特产", "一箱车厘子", "购物卡", "月饼", "一套化妆品", "海鲜礼盒", "京东卡"]
HOBBY11 = ["喝点茶", "抽两口", "喝两杯", "钓个鱼", "打个球"]
MEAL11 = ["吃个饭", "喝个下午茶", "吃顿火锅", "唱个歌"]
FAVOUR11 = ["加个急", "排个前面的号", "通融一下", "把记录改改", "多批一点额度", "把罚款免了"]
APP11 = ["纸飞机", "TG", "Telegram", "Line", "WhatsApp", "ins", "Instagram", "钉钉", "Soul", "陌陌",
         "企鹅", "扣扣", "绿泡泡", "VX", "dy", "抖音", "小红书", "红薯", "xhs", "咸鱼", "闲鱼", "微博", "快手", "飞书", "Skype"]
ID11 = ["{pre}{d4}", "{pre}_{d3}", "{pre}.{d4}"]
PRE11 = ["aa", "xiaomei", "leo", "tt", "kk", "sunny", "wang", "lucky"]
# positives: contact on apps the lexicon lacks, slang app names, circled or emoji digits
CONT11 = [
    "{app11}搜{id11}，我们那边聊", "加我{app11}：{id11}", "{app11}上私信我，{id11}", "我的{app11}是{id11}，有事找我",
    "这里不方便说，{app11}见，{id11}", "去{app11}找我吧，名字叫{id11}", "换{app11}聊吧，号是{id11}",
    "电话是{circ}，直接打", "我号码{circ}，微信同号", "{emo}，这是我手机，打我", "记一下：{circ}，下班后打",
    "你{app11}多少？我加你", "你有{app11}吗？发我一下，私下聊", "扣{circ}", "企鹅号{circ}，加一下",
]
# negatives: questions whether something is allowed or safe, official app accounts, thanks
# through the platform
RULEQ11_STAFF = ["司机", "师傅", "客服", "老师", "医生", "理赔员", "业务员", "快递员", "房东", "导游", "教练", "主播", "客户经理", "护士"]
RULEQ11_ACT = ["加他微信", "留个电话", "送点水果", "送面锦旗", "发个红包感谢一下", "在抖音关注他", "私下联系",
               "请他喝杯奶茶", "给点小费", "加他QQ", "用他个人的码付款", "私下约下次服务"]
RULEQ11 = [
    "请问我可以{act}吗？还是必须在App里？", "想问一下，{staff}能不能{act}？你们有规定吗", "{staff}可以{act}吗？会不会违规",
    "{act}安全吗？会不会是骗子", "你们规定里，给{staff}{act}算违规吗？", "我想{act}，这样合适吗？不想给{staff}惹麻烦",
    "{staff}一直挺照顾的，想{act}，可以吗？不是钱", "请问平台允许{act}吗？", "如果{staff}让我{act}，我该答应吗？",
    "Is it OK to {act_en}? Or is that against your rules?", "Can I {act_en}, or should everything stay in the app?",
]
RULEQ11_ACT_EN = ["add the driver on WeChat", "tip the technician in cash", "give my tutor a small gift",
                  "follow the host on Xiaohongshu", "call the courier directly"]
ANSWER11 = [
    "不可以哦，{staff}不能私下{act}，请在App里联系", "感谢理解，按规定{staff}不能{act}，好评就是最好的感谢",
    "锦旗和表扬信可以通过官方渠道送，现金和红包是不收的", "不建议私下联系，有问题都在平台上处理，保障您的权益",
]
NEG11 = [
    "我们的官方{app11}账号是{brand}，可以关注获取活动信息", "在{app11}上搜{brand}官方号就能看到公告",
    "给{staff}一个五星好评吧，这就是最好的感谢", "想表扬一下{staff}，在哪里写表扬信？",
    "礼品卡在App的卡包里，结算时直接抵扣", "快递到家里了，谢谢师傅", "地址改成家里的，周末在家收",
    "①选择订单 ②点击售后 ③填写原因", "第①步上传照片，第②步提交审核", "{app11}上那个是你们官方号吗？我没加，先问问",
]
BRAND11 = ["小安家", "乐途旅行", "优享生活", "安心保", "速达物流"]


def _fill11(t: str) -> str:
    def d(k: int) -> str:
        return "".join(R.choice("0123456789") for _ in range(k))

    circled = "①②③④⑤⑥⑦⑧⑨⓪"
    emoji = ["0️⃣", "1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"]
    digits = "1" + R.choice("3589") + d(9)
    cut = R.randint(8, 11)
    circ = "".join(circled[(int(c) - 1) % 10] for c in digits[:cut]) + digits[cut:]
    emo = "".join(emoji[int(c)] for c in digits[:R.randint(3, 11)]) + digits[R.randint(3, 11):]
    staff = R.choice(RULEQ11_STAFF)
    return t.format(
        gift=R.choice(GIFT11), hobby=R.choice(HOBBY11), meal=R.choice(MEAL11),
        favour=R.choice(FAVOUR11), app11=R.choice(APP11), d4=d(4), staff=staff,
        id11=R.choice(ID11).format(pre=R.choice(PRE11), d3=d(3), d4=d(4)),
        circ=circ, emo=emo, act=R.choice(RULEQ11_ACT), act_en=R.choice(RULEQ11_ACT_EN),
        brand=R.choice(BRAND11))


def lines_v11() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    add = _collector(out, cantonese=0.05)
    seps = ["，", "。", "……", "！", "，", "。"]
    # a refusal followed by a hint: the hint is the violation
    for count, hints, label in ((260, HINT11_BRIBE, [BR]), (120, HINT11_PAY, [PY]),
                                (120, HINT11_CONT, [CT])):
        for _ in range(count):
            d = R.choice(sorted(DOM9))
            core = R.choice(REFUSE11_A) + R.choice(seps) + _fill11(R.choice(hints))
            add(_lead(core, A, DOM9[d], 0.15), A, label, "refusal11-then-hint", d)
    for _ in range(140):
        d = R.choice(sorted(DOM9))
        core = R.choice(REFUSE11_C) + R.choice(seps) + _fill11(R.choice(HINT11_C))
        add(_lead(core, C, DOM9[d], 0.15), C, [BR], "refusal11-then-hint", d)
    plan: list[tuple[int, list[str], list[str], str, str, float]] = [
        (300, CONT11, [CT], "contact11", "", 0.25),
        (500, RULEQ11, [], "negative11-rule-question", C, 0.15),
        (160, ANSWER11, [RF], "refusal11-rule-answer", A, 0.1),
        (260, NEG11, [], "negative11-near", "", 0.15),
    ]
    for count, pool11, label, kind, fixed_role, long in plan:
        for _ in range(count):
            d = R.choice(sorted(DOM9))
            role = fixed_role or R.choice([C, A])
            core = _fill11(R.choice(pool11))
            add(_lead(core, role, DOM9[d], long), role, label, kind, d)
    return out


def main() -> None:
    rows = lines()
    seen = {(str(r["text"]), str(r["role"])) for r in rows}
    for row in [*lines_v3(), *lines_v5(), *lines_v6(), *lines_v7(), *lines_v8(),
                *lines_v9(), *lines_v10(), *lines_v11()]:
        key = (str(row["text"]), str(row["role"]))
        if key not in seen:
            seen.add(key)
            rows.append(row)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(f"{len(rows)} lines -> {OUT}")


if __name__ == "__main__":
    main()
