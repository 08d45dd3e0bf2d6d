"""The demo group: an HQ and three subsidiaries with realistic people, customers and orders.

Every demo account's password is DEMO_PASSWORD; the README lists one login per role.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from probity.audit.service import record_audit
from probity.auth.passwords import hash_password
from probity.config import Settings
from probity.db import Database, refresh_statistics
from probity.models import (
    Customer,
    Employee,
    EmploymentEvent,
    EmploymentStatus,
    Order,
    OrderStatus,
    OrgUnit,
    OrgUnitKind,
    Payment,
    PaymentMethod,
    Position,
    Role,
    RoleAssignment,
    Tenant,
    TenantKind,
    User,
)

DEMO_PASSWORD = "Demo-Pass-2026!"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"

# (code, name, English name, teams, team product lines)
SUBSIDIARIES = [
    ("ECOM", "廉盾电商有限公司", "Lianpan E-commerce", "电商", ["售前一组", "售前二组", "售后一组", "售后二组"],
     ["无线蓝牙耳机", "智能手表 S3", "电商平台会员年卡", "羽绒服", "保温杯", "手机 X20 Pro"]),
    ("HOME", "廉盾家电有限公司", "Lianpan Home Appliances", "家电", ["安装预约组", "维修售后组", "延保服务组"],
     ["变频空调 1.5 匹", "滚筒洗衣机 10kg", "双开门冰箱", "燃气热水器", "扫地机器人"]),
    ("TRAVEL", "廉盾旅行有限公司", "Lianpan Travel", "旅行", ["机票组", "酒店组", "度假产品组"],
     ["北京-上海 经济舱", "三亚 5 天 4 晚自由行", "杭州西湖酒店 2 晚", "云南跟团游", "东京往返机票"]),
]

DEMO_LOGINS: list[tuple[str, str, Role, str | None, bool]] = [
    # (username, display name, role, scope tenant code (None = HQ), team-scoped)
    ("admin", "总部管理员 周宁", Role.hq_admin, None, False),
    ("auditor", "集团审计 顾明", Role.auditor, None, False),
    ("hr", "人事 林芳 (电商)", Role.hr, "ECOM", False),
    ("finance", "财务 陈静 (电商)", Role.finance, "ECOM", False),
    ("compliance", "合规 赵磊 (电商)", Role.compliance, "ECOM", False),
    ("lead", "组长 王伟 (售前一组)", Role.team_lead, "ECOM", True),
    ("agent", "客服 李娜 (售前一组)", Role.agent, "ECOM", True),
    ("customer", "客户 张先生", Role.customer, "ECOM", False),
]


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        n = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if n not in used:
            used.add(n)
            return n


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "137", "150", "186", "177", "159"]) + "".join(
        str(rng.randrange(10)) for _ in range(8))


def _hire_date(rng: random.Random, today: date) -> date:
    """Many under one year (high churn in customer service), a long tail up to eight years."""
    r = rng.random()
    if r < 0.08:
        days = rng.randint(1, 30)  # still onboarding
    elif r < 0.55:
        days = rng.randint(31, 364)
    elif r < 0.85:
        days = rng.randint(365, 3 * 365)
    else:
        days = rng.randint(3 * 365, 8 * 365)
    return today - timedelta(days=days)


async def database_has_data(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Tenant)))


async def seed_demo(settings: Settings, *, if_empty: bool, seed: int = 7) -> bool:
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            if if_empty and await database_has_data(session):
                return False
            await build_demo(session, seed=seed)
            await session.commit()
            await refresh_statistics(session)
            await session.commit()
            return True
    finally:
        await db.dispose()


async def build_demo(session: AsyncSession, *, seed: int = 7, today: date | None = None) -> None:
    rng = random.Random(seed)
    today = today or date.today()
    used_names: set[str] = set()
    pw_hash = hash_password(DEMO_PASSWORD)  # one hash for all demo accounts keeps seeding fast

    hq = Tenant(code="HQ", name="廉盾集团总部", name_en="Lianpan Group HQ", kind=TenantKind.hq)
    session.add(hq)
    await session.flush()
    hq.path = f"/{hq.id}/"

    positions = {
        code: Position(tenant_id=hq.id, code=code, title=title, grade=grade)
        for code, title, grade in [
            ("CS1", "客服专员", "P1"), ("CS2", "高级客服", "P2"), ("CS3", "资深客服", "P3"),
            ("TL", "客服组长", "M1"), ("QA", "质检专员", "P2"), ("TRN", "培训师", "P3"),
            ("HR", "人事专员", "P2"), ("FIN", "财务专员", "P2"), ("CMP", "合规专员", "P3"),
            ("AUD", "审计专员", "P3"), ("ADM", "总部管理员", "M2"), ("MGR", "部门经理", "M2"),
        ]
    }
    session.add_all(positions.values())
    await session.flush()

    employees: list[Employee] = []
    counter = {"n": 0}

    def hire(tenant: Tenant, unit: OrgUnit | None, pos: str, *, manager: Employee | None = None,
             status_bias: bool = True) -> Employee:
        counter["n"] += 1
        hired = _hire_date(rng, today)
        status = EmploymentStatus.active
        if (today - hired).days <= 30:
            status = EmploymentStatus.onboarding
        emp = Employee(
            tenant_id=tenant.id, org_unit_id=unit.id if unit else None,
            position_id=positions[pos].id, manager_id=manager.id if manager else None,
            employee_no=f"{tenant.code[:2]}{counter['n']:05d}", name=_name(rng, used_names),
            email=f"e{counter['n']:05d}@{tenant.code.lower()}.lianpan.example",
            phone=_phone(rng), hire_date=hired, status=status)
        employees.append(emp)
        return emp

    # HQ functions.
    hq_depts = {}
    for code, name in [("HQ-HR", "集团人力资源部"), ("HQ-CMP", "集团合规与风控部"),
                       ("HQ-FIN", "集团财务部"), ("HQ-AUD", "集团审计部")]:
        hq_depts[code] = OrgUnit(tenant_id=hq.id, code=code, name=name, kind=OrgUnitKind.department)
    session.add_all(hq_depts.values())
    await session.flush()
    for _ in range(2):
        hire(hq, hq_depts["HQ-HR"], "HR")
    for _ in range(3):
        hire(hq, hq_depts["HQ-CMP"], "CMP")
    for _ in range(2):
        hire(hq, hq_depts["HQ-FIN"], "FIN")
    for _ in range(2):
        hire(hq, hq_depts["HQ-AUD"], "AUD")
    admin_emp = hire(hq, None, "ADM")
    hire(hq, None, "ADM")

    subsidiaries: dict[str, Tenant] = {}
    teams: dict[str, list[OrgUnit]] = {}
    leads: dict[int, Employee] = {}
    agents_by_team: dict[int, list[Employee]] = {}
    functions: dict[tuple[str, str], Employee] = {}
    for code, name, name_en, short, team_names, _products in SUBSIDIARIES:
        sub = Tenant(code=code, name=name, name_en=name_en, kind=TenantKind.subsidiary,
                     parent_id=hq.id)
        session.add(sub)
        await session.flush()
        sub.path = f"{hq.path}{sub.id}/"
        subsidiaries[code] = sub
        cs = OrgUnit(tenant_id=sub.id, code=f"{code}-CS", name=f"{short}客服中心",
                     kind=OrgUnitKind.department)
        dept = {k: OrgUnit(tenant_id=sub.id, code=f"{code}-{k}", name=f"{short}{n}",
                           kind=OrgUnitKind.department)
                for k, n in [("HR", "人事部"), ("FIN", "财务部"), ("CMP", "合规部"), ("QA", "质检培训部")]}
        session.add_all([cs, *dept.values()])
        await session.flush()
        manager = hire(sub, cs, "MGR")
        sub_teams = []
        for i, tname in enumerate(team_names, start=1):
            team = OrgUnit(tenant_id=sub.id, parent_id=cs.id, code=f"{code}-T{i}",
                           name=f"{short}{tname}", kind=OrgUnitKind.team, max_concurrent=5)
            session.add(team)
            sub_teams.append(team)
        await session.flush()
        teams[code] = sub_teams
        for team in sub_teams:
            lead = hire(sub, team, "TL", manager=manager)
            lead.status = EmploymentStatus.active
            lead.hire_date = min(lead.hire_date, today - timedelta(days=400))
            leads[team.id] = lead
        functions[(code, "HR")] = hire(sub, dept["HR"], "HR", manager=manager)
        hire(sub, dept["HR"], "HR", manager=manager)
        hire(sub, dept["HR"], "HR", manager=manager)
        functions[(code, "FIN")] = hire(sub, dept["FIN"], "FIN", manager=manager)
        hire(sub, dept["FIN"], "FIN", manager=manager)
        functions[(code, "CMP")] = hire(sub, dept["CMP"], "CMP", manager=manager)
        hire(sub, dept["CMP"], "CMP", manager=manager)
        for _ in range(5):
            hire(sub, dept["QA"], rng.choice(["QA", "TRN"]), manager=manager)

    # ~120 agents spread over the 10 teams (plus a small regional team below).
    all_teams = [t for code in teams for t in teams[code]]
    await session.flush()
    for i in range(124):
        team = all_teams[i % len(all_teams)]
        sub = next(s for s in subsidiaries.values() if s.id == team.tenant_id)
        emp = hire(sub, team, rng.choices(["CS1", "CS2", "CS3"], weights=[6, 3, 1])[0],
                   manager=leads[team.id])
        agents_by_team.setdefault(team.id, []).append(emp)
    # An optional region below e-commerce, with its own small team.
    ecom = subsidiaries["ECOM"]
    region = Tenant(code="ECOM-SOUTH", name="廉盾电商华南大区", name_en="E-commerce South China",
                    kind=TenantKind.region, parent_id=ecom.id)
    session.add(region)
    await session.flush()
    region.path = f"{ecom.path}{region.id}/"
    south_team = OrgUnit(tenant_id=region.id, code="SOUTH-T1", name="华南售后组",
                         kind=OrgUnitKind.team)
    session.add(south_team)
    await session.flush()
    south_lead = hire(region, south_team, "TL")
    leads[south_team.id] = south_lead
    for _ in range(8):
        hire(region, south_team, "CS1", manager=south_lead)
    session.add_all(employees)
    await session.flush()

    # Lifecycle history: hired (onboarding) → active after a probation week or more; a few left
    # and a few transferred, each with a dated event.
    agents = [e for team_agents in agents_by_team.values() for e in team_agents]
    leavers = set(rng.sample(range(len(agents)), 9))
    movers = set(rng.sample([i for i in range(len(agents)) if i not in leavers], 6))
    for emp in employees:
        session.add(EmploymentEvent(employee_id=emp.id, tenant_id=emp.tenant_id, from_status=None,
                                    to_status="onboarding", effective_date=emp.hire_date,
                                    to_org_unit_id=emp.org_unit_id, note="入职"))
        if emp.status == EmploymentStatus.active:
            session.add(EmploymentEvent(
                employee_id=emp.id, tenant_id=emp.tenant_id, from_status="onboarding",
                to_status="active", effective_date=emp.hire_date + timedelta(days=7),
                from_org_unit_id=emp.org_unit_id, to_org_unit_id=emp.org_unit_id, note="转正"))
    for i, emp in enumerate(agents):
        if emp.status != EmploymentStatus.active:
            continue
        start = emp.hire_date + timedelta(days=8)
        if i in leavers and (today - start).days > 10:
            left = start + timedelta(days=rng.randint(1, (today - start).days - 1))
            session.add(EmploymentEvent(
                employee_id=emp.id, tenant_id=emp.tenant_id, from_status="active",
                to_status="left", effective_date=left, from_org_unit_id=emp.org_unit_id,
                to_org_unit_id=emp.org_unit_id, note="个人原因离职"))
            emp.status, emp.left_date = EmploymentStatus.left, left
        elif i in movers and (today - start).days > 10:
            same_sub = [t for t in all_teams if t.tenant_id == emp.tenant_id
                        and t.id != emp.org_unit_id]
            target = rng.choice(same_sub)
            moved = start + timedelta(days=rng.randint(1, (today - start).days - 1))
            session.add(EmploymentEvent(
                employee_id=emp.id, tenant_id=emp.tenant_id, from_status="active",
                to_status="transferred", effective_date=moved, from_org_unit_id=emp.org_unit_id,
                to_org_unit_id=target.id, note="内部转岗"))
            emp.status, emp.org_unit_id = EmploymentStatus.transferred, target.id
            emp.manager_id = leads[target.id].id

    # Accounts: one demo login per role, plus every agent and team lead (username = employee no.).
    first_team = teams["ECOM"][0]
    agent_emp = agents_by_team[first_team.id][0]
    agent_emp.status = EmploymentStatus.active
    linked = {
        "admin": admin_emp, "hr": functions[("ECOM", "HR")],
        "finance": functions[("ECOM", "FIN")], "compliance": functions[("ECOM", "CMP")],
        "lead": leads[first_team.id], "agent": agent_emp,
    }
    customers = await _seed_commerce(session, rng, subsidiaries, today)
    demo_customer = customers["ECOM"][0]
    for username, display, role, scope_code, team_scoped in DEMO_LOGINS:
        scope = subsidiaries[scope_code] if scope_code else hq
        person = linked.get(username)
        if person is not None:  # the account's person is its employee: one name on every page
            person.name = display.split(" ")[1]
        user = User(username=username, display_name=display, password_hash=pw_hash,
                    tenant_id=scope.id, employee_id=person.id if person else None,
                    customer_id=demo_customer.id if role == Role.customer else None)
        session.add(user)
        await session.flush()
        session.add(RoleAssignment(user_id=user.id, role=role, tenant_id=scope.id,
                                   org_unit_id=first_team.id if team_scoped else None))
    for team_id, lead in leads.items():
        if lead is linked["lead"]:
            continue
        user = User(username=lead.employee_no.lower(), display_name=lead.name,
                    password_hash=pw_hash, tenant_id=lead.tenant_id, employee_id=lead.id)
        session.add(user)
        await session.flush()
        session.add(RoleAssignment(user_id=user.id, role=Role.team_lead, tenant_id=lead.tenant_id,
                                   org_unit_id=team_id))
    for emp in agents:
        if emp is agent_emp or emp.status == EmploymentStatus.left:
            continue
        user = User(username=emp.employee_no.lower(), display_name=emp.name,
                    password_hash=pw_hash, tenant_id=emp.tenant_id, employee_id=emp.id)
        session.add(user)
        await session.flush()
        session.add(RoleAssignment(user_id=user.id, role=Role.agent, tenant_id=emp.tenant_id,
                                   org_unit_id=emp.org_unit_id))
    record_audit(session, None, "demo.seed", target_type="tenant", target_id=hq.id,
                 tenant_id=hq.id, actor_name="system",
                 after={"employees": len(employees), "subsidiaries": len(subsidiaries)})
    from probity.chat.demo import seed_chat_demo  # refunds for the agent workspace

    await seed_chat_demo(session)
    await _ledger_commerce(session)
    from probity.finance.demo import seed_finance_demo  # payee registry, alerts, cases

    await seed_finance_demo(session)
    from probity.chat.demo import seed_conversations  # the agent workspace, alerts and a case

    await seed_conversations(session)
    from probity.governance.demo import seed_governance  # HQ standards, one override

    await seed_governance(session)
    from probity.performance.demo import seed_performance  # cycles from the seeded activity

    await seed_performance(session)
    from probity.recruitment.demo import seed_recruitment  # open requisitions, candidates, a hire

    await seed_recruitment(session, today)
    from probity.onboarding.demo import seed_onboarding  # the integrity pledge, signed

    await seed_onboarding(session)
    from probity.attendance.demo import seed_attendance  # shifts, rotas, leave, clock-ins

    await seed_attendance(session, today)
    from probity.duty.demo import seed_duty  # HR on duty on the weekend evenings

    await seed_duty(session, today)
    from probity.analytics.demo import seed_analytics  # six weeks of activity with patterns

    await seed_analytics(session, today=today)
    from probity.payroll.demo import seed_payroll  # city tables, structures, a closed month

    await seed_payroll(session)
    from probity.training.demo import seed_training  # the mandatory course, assignments

    await seed_training(session)
    from probity.imports.demo import seed_imports  # saved column mappings of old systems

    await seed_imports(session)
    from probity.webhooks.demo import seed_webhooks  # one disabled example subscription

    await seed_webhooks(session)
    await session.flush()


async def _ledger_commerce(session: AsyncSession) -> None:
    """Every demo payment and refund goes into its tenant's ledger, as imports do."""
    from sqlalchemy.orm import class_mapper

    from probity.finance.records import ledger_records
    from probity.models import Refund

    for kind, model, when in (("payments", Payment, Payment.paid_at),
                              ("refunds", Refund, Refund.refunded_at)):
        columns = [c.key for c in class_mapper(model).column_attrs]
        rows = (await session.scalars(select(model).order_by(when, model.id))).all()
        by_tenant: dict[int, list[dict[str, object]]] = {}
        for row in rows:
            record: dict[str, object] = {c: getattr(row, c) for c in columns}
            by_tenant.setdefault(cast(int, record["tenant_id"]), []).append(record)
        for tenant_id, records in by_tenant.items():
            await ledger_records(session, tenant_id, kind, records)


async def _seed_commerce(session: AsyncSession, rng: random.Random,
                         subsidiaries: dict[str, Tenant], today: date) -> dict[str, list[Customer]]:
    """Customers with orders and payments into the company's own accounts."""
    result: dict[str, list[Customer]] = {}
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    used: set[str] = set()
    for code, _sub_name, _en, _short, _teams, products in SUBSIDIARIES:
        sub = subsidiaries[code]
        merchant = f"MCH-{code}-0001"
        custs = []
        for i in range(1, 81):
            phone = _phone(rng)
            c = Customer(tenant_id=sub.id, customer_no=f"C{code[:1]}{i:06d}",
                         name=_name(rng, used), phone=phone)
            custs.append(c)
        if code == "ECOM":
            custs[0].name = "张先生"
        session.add_all(custs)
        await session.flush()
        seq = 0
        for c in custs:
            for _ in range(rng.randint(1, 4)):
                seq += 1
                placed = now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440))
                amount = Decimal(rng.choice([59, 99, 129, 199, 299, 459, 899, 1299, 2599, 3999]))
                status = rng.choices(list(OrderStatus), weights=[1, 3, 3, 8, 1, 1])[0]
                order = Order(tenant_id=sub.id, customer_id=c.id,
                              order_no=f"{code[:1]}{placed:%Y%m%d}{seq:05d}",
                              item=rng.choice(products), amount=amount, status=status,
                              contact_phone=c.phone, placed_at=placed)
                session.add(order)
                await session.flush()
                if status not in (OrderStatus.created, OrderStatus.cancelled):
                    method = rng.choice([PaymentMethod.wechat_pay, PaymentMethod.alipay,
                                         PaymentMethod.card])
                    session.add(Payment(tenant_id=sub.id, order_id=order.id, customer_id=c.id,
                                        payment_no=f"P{order.order_no}", amount=amount,
                                        method=method, payee_account=merchant,
                                        paid_at=placed + timedelta(minutes=rng.randint(1, 30))))
        result[code] = custs
    await session.flush()
    return result
