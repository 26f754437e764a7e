"""The console's words in English and Chinese; the page follows the browser's Accept-Language.

Sensor names, units and messages come from the site config as written; only the console's own labels are
translated here.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Alarm summary",
        "active": "Active",
        "shelved": "Shelved and out of service",
        "history": "History",
        "kpis": "Alarm KPIs, last 24 h",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "user": "User",
        "password": "Password",
        "bad_login": "Wrong user name or password.",
        "throttled": "Too many failed sign-ins: wait five minutes.",
        "signed_in_as": "Signed in as",
        "priority": "Priority",
        "state": "State",
        "sensor": "Sensor",
        "area": "Area",
        "value": "Value",
        "limit": "Limit",
        "level": "Level",
        "since": "Active for",
        "acked_by": "Acknowledged by",
        "message": "Message",
        "actions": "Actions",
        "ack": "Acknowledge",
        "shelve": "Shelve",
        "unshelve": "Unshelve",
        "reset": "Reset",
        "out_of_service": "Out of service",
        "return_to_service": "Return to service",
        "comment": "Comment",
        "reason": "Reason",
        "minutes": "Minutes",
        "until": "until",
        "none_active": "No active alarms.",
        "none_shelved": "Nothing shelved or out of service.",
        "live": "live",
        "reconnecting": "reconnecting…",
        "time": "Time",
        "event": "Event",
        "who": "Who",
        "audit": "Audit trail",
        "outcome": "Outcome",
        "alarms_10min": "Alarms per 10 min",
        "floods": "Flood periods",
        "chattering": "Chattering",
        "stale": "Stale",
        "bad_actors": "Top bad actors",
        "grafana": "Grafana dashboards",
        "refused": "Refused",
        "done": "Done",
        "viewer_only": "Your role can view alarms but not act on them.",
        "session_expired": "Your session has ended: sign in again.",
        "st_unacknowledged": "Unacknowledged",
        "st_acknowledged": "Acknowledged",
        "st_rtn_unacknowledged": "Returned, unacknowledged",
        "st_latched": "Latched",
        "st_shelved": "Shelved",
        "st_out_of_service": "Out of service",
        "st_normal": "Normal",
    },
    "zh": {
        "title": "报警汇总",
        "active": "当前报警",
        "shelved": "已搁置与停用",
        "history": "历史",
        "kpis": "报警指标（最近24小时）",
        "sign_in": "登录",
        "sign_out": "退出",
        "user": "用户名",
        "password": "密码",
        "bad_login": "用户名或密码错误。",
        "throttled": "登录失败次数过多，请五分钟后再试。",
        "signed_in_as": "当前用户",
        "priority": "优先级",
        "state": "状态",
        "sensor": "传感器",
        "area": "区域",
        "value": "测值",
        "limit": "限值",
        "level": "级别",
        "since": "持续",
        "acked_by": "确认人",
        "message": "信息",
        "actions": "操作",
        "ack": "确认",
        "shelve": "搁置",
        "unshelve": "取消搁置",
        "reset": "复位",
        "out_of_service": "停用",
        "return_to_service": "恢复使用",
        "comment": "备注",
        "reason": "原因",
        "minutes": "分钟",
        "until": "至",
        "none_active": "当前无报警。",
        "none_shelved": "无搁置或停用项。",
        "live": "实时",
        "reconnecting": "正在重连…",
        "time": "时间",
        "event": "事件",
        "who": "操作人",
        "audit": "操作记录",
        "outcome": "结果",
        "alarms_10min": "每10分钟报警数",
        "floods": "报警泛滥时段",
        "chattering": "振荡报警",
        "stale": "长期报警",
        "bad_actors": "高频报警点",
        "grafana": "Grafana 仪表盘",
        "refused": "被拒绝",
        "done": "完成",
        "viewer_only": "您的角色只能查看报警，不能操作。",
        "session_expired": "会话已结束，请重新登录。",
        "st_unacknowledged": "未确认",
        "st_acknowledged": "已确认",
        "st_rtn_unacknowledged": "已恢复未确认",
        "st_latched": "已闭锁",
        "st_shelved": "已搁置",
        "st_out_of_service": "已停用",
        "st_normal": "正常",
    },
}


def language(accept_language: str | None) -> str:
    """The first of the browser's languages we speak (q-values honoured), else English."""
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((q, tag.strip().lower().split("-")[0]))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag in MESSAGES:
            return tag
    return "en"
