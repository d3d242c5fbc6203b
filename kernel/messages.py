"""The server's message catalogue: every sentence an operator or official reads from the CLI, a
report or a quarantine reason, in Chinese first with English as a switch (``SHOUHU_LANGUAGE=en``).

The console has its own catalogue (console/src/i18n); this one serves everything the Python side
prints. Keys are stable, dotted and English; a message is a ``str.format`` template and both
languages must name the same placeholders (tests/test_messages.py holds every entry to that).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping

from pydantic import ValidationError
from pydantic_settings import SettingsError

from kernel.settings import get_settings

LANGUAGES = ("zh-CN", "en")

# key: (zh-CN, en)
MESSAGES: Mapping[str, tuple[str, str]] = {
    # ---- failures, one line each ----------------------------------------------------------------
    "workflow.not_receiving_agency": (
        "贵单位不是此报告的受理单位：只有报告转交的单位（公安机关；书面辍学报告为乡镇）可以确认和受理。",
        "your agency is not the one this report was routed to: only that agency (the police; the "
        "township for a written dropout report) may acknowledge or accept it",
    ),
    "cli.error": ("错误：{message}", "error: {message}"),
    "settings.invalid": (
        "设置有误，未执行：{problems}",
        "the settings are wrong, nothing was done: {problems}",
    ),
    "settings.problem": ("变量 {var}：{rule}", "{var} {rule}"),
    "settings.rule.gt": ("应大于 {value}", "must be greater than {value}"),
    "settings.rule.ge": ("应不小于 {value}", "must be at least {value}"),
    "settings.rule.lt": ("应小于 {value}", "must be less than {value}"),
    "settings.rule.le": ("应不大于 {value}", "must be at most {value}"),
    "settings.rule.int": ("应为整数", "must be a whole number"),
    "settings.rule.number": ("应为数字", "must be a number"),
    "settings.rule.bool": ("应为 true 或 false", "must be true or false"),
    "settings.rule.one_of": ("应为以下之一：{value}", "must be one of {value}"),
    "settings.rule.lease": (
        "应长于 SHOUHU_WEBHOOK_TIMEOUT_SECONDS（投递未完成时租约到期，会被再次领取并重复发送）",
        "must be longer than SHOUHU_WEBHOOK_TIMEOUT_SECONDS (a delivery still on its way when its lease "
        "ran out would be claimed and sent again)",
    ),
    "settings.rule.invalid": ("取值无效", "is not a valid value"),
    "settings.rule.json": ('应为 JSON（如 ["a", "b"]）', 'must be JSON (such as ["a", "b"])'),
    "cli.sync_stopped": (
        "同步中断：{reason}。已提交的批次会保留，再次运行即从中断处继续。",
        "sync stopped: {reason} — committed batches are kept; run it again to resume",
    ),
    "cli.sync_locked": (
        "{data_dir} 上已有同步或重放在运行（sync.lock 被占用），请等它结束后再试。",
        "another sync or replay is running on {data_dir} (sync.lock is held)",
    ),
    "cli.not_a_date": (
        "{option} 的值 {value} 不是日期（应为 YYYY-MM-DD）",
        "{option} {value} is not a date (YYYY-MM-DD)",
    ),
    "cli.not_a_division_prefix": (
        "--division 的值 {value} 不是行政区划代码前缀（1–12 位数字）",
        "--division {value} is not a division code prefix",
    ),
    "cli.no_landed_record": ("没有序号为 {seq} 的接收记录", "no landed record {seq}"),
    "cli.internal_failed": (
        "命令因程序内部错误（{kind}）停止；已提交的数据保留。错误内容可能含个人信息，因此不显示；"
        "需排查时请设置 SHOUHU_ERROR_DETAIL=1 后再次运行，并妥善保管输出。",
        "the command stopped on an internal error ({kind}); what was committed is kept. Its text can "
        "hold personal data and is not shown: set SHOUHU_ERROR_DETAIL=1 and run it again to see it, "
        "and keep that output safe",
    ),
    "cli.store_failed": (
        "关系库操作失败（{kind}），命令已停止；已提交的数据保留，问题排除后再次运行即可。",
        "the relational store failed ({kind}); the command stopped — what was committed is kept, "
        "run it again once the problem is fixed",
    ),
    "store.data_dir_uncreatable": (
        "无法创建数据目录 {path}：{reason}",
        "data directory {path} cannot be created: {reason}",
    ),
    "store.data_dir_not_writable": (
        "数据目录 {path} 不可写（请设置 SHOUHU_DATA_DIR）",
        "data directory {path} is not a writable directory (set SHOUHU_DATA_DIR)",
    ),
    "store.data_dir_write_failed": (
        "数据目录 {path} 不可写：{reason}",
        "data directory {path} is not writable: {reason}",
    ),
    "config.interval": (
        "间隔 {value} 的写法应如 30s、15m、1h 或 1d",
        "interval {value} is not like 30s, 15m, 1h or 1d",
    ),
    "config.file_invalid": ("接口配置文件 {path} 有误：{reason}", "connectors file {path}: {reason}"),
    "config.toml_syntax": (
        "不是有效的 TOML：第 {line} 行第 {column} 列附近格式有误",
        "not valid TOML near line {line}, column {column}",
    ),
    "config.toml_unplaced": ("不是有效的 TOML", "not valid TOML"),
    "config.not_utf8": ("不是 UTF-8 编码的文本", "not UTF-8 text"),
    # ---- argparse's own words, for a CLI built on it (auth/policy/cli.py) ----
    "cli.args.usage": ("用法：", "usage: "),
    "cli.args.help": ("显示本帮助并退出", "show this help message and exit"),
    "cli.args.options": ("选项", "options"),
    "cli.args.arguments": ("参数", "positional arguments"),
    "cli.args.commands": ("命令", "commands"),
    # ---- typer's and click's own words in the shouhu CLI's help and usage errors (shouhu/cli/help.py
    # puts them in typer's place); the English side is typer's own text ----
    "cli.typer.usage": ("用法：", "Usage: "),
    "cli.typer.arguments": ("参数", "Arguments"),
    "cli.typer.options": ("选项", "Options"),
    "cli.typer.commands": ("命令", "Commands"),
    "cli.typer.error": ("错误", "Error"),
    "cli.typer.help_option": ("显示本帮助并退出。", "Show this message and exit."),
    "cli.typer.default": ("[默认：{}]", "[default: {}]"),
    "cli.typer.default_plain": ("默认：{default}", "default: {default}"),
    "cli.typer.required": ("[必填]", "[required]"),
    "cli.typer.required_plain": ("必填", "required"),
    "cli.typer.envvar": ("[环境变量：{}]", "[env var: {}]"),
    "cli.typer.envvar_plain": ("环境变量：{var}", "env var: {var}"),
    "cli.typer.deprecated": ("（已停用）", "(deprecated) "),
    "cli.typer.aborted": ("已中止。", "Aborted."),
    "cli.typer.try_help": (
        "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
        "Try [blue]'{command_path} {help_option}'[/] for help.",
    ),
    "cli.typer.no_such_option": ("没有选项 {name}", "No such option: {name}"),
    "cli.typer.no_such_command": ("没有命令 {name!r}。", "No such command {name!r}."),
    "cli.typer.missing_command": ("缺少命令。", "Missing command."),
    "cli.typer.missing_option": ("缺少选项 {hint}。", "Missing option {hint}."),
    "cli.typer.missing_argument": ("缺少参数 {hint}。", "Missing argument {hint}."),
    "cli.typer.extra_arguments": ("多余的参数：{args}", "Got unexpected extra argument(s) ({args})"),
    "cli.typer.invalid_value": ("{hint} 的值无效：{message}", "Invalid value for {hint}: {message}"),
    "cli.typer.needs_value": ("选项 {name} 需要一个值。", "Option {name} requires an argument."),
    "cli.typer.takes_no_value": ("选项 {name} 不带值。", "Option {name} does not take a value."),
    "cli.typer.did_you_mean": ("是否要用 {suggestions}？", ". Did you mean {suggestions}?"),
    "cli.typer.possible_options": ("（可用的选项：{options}）", " (Possible options: {options})"),
    # ---- python -m auth.policy ----
    "policy.cli.description": ("守护的字段级授权策略", "Shouhu field-level authorization policy"),
    "policy.cli.table": (
        "打印单位类型 × 敏感级别的决定矩阵（Markdown）",
        "print the agency × class decision matrix (Markdown)",
    ),
    "policy.cli.table_file": (
        "策略文件（默认：随程序提供的策略）",
        "the policy file (default: the one shipped with the program)",
    ),
    "policy.cli.check": ("按 graph/model.py 检查策略文件", "validate a policy file against graph/model.py"),
    "policy.cli.check_file": ("要检查的策略文件", "the policy file to check"),
    "policy.cli.file": ("策略文件", "FILE"),
    "policy.cli.ok": (
        "{source}：检查通过，版本 {version}；"
        "已分级字段 {fields} 个，单位类型 {agency_types} 种，角色 {roles} 个",
        "{source}: ok, version {version}, {fields} fields classified, {agency_types} agency types, "
        "{roles} roles",
    ),
    "policy.cannot_read": ("无法读取策略文件 {path}：{reason}", "{path}: cannot read policy file ({reason})"),
    "policy.not_toml": ("策略文件 {source} {problem}", "{source}: {problem}"),
    # ---- python -m shouhu.migrations (an operator's and developer's Alembic tool) ----
    "migrations.cli.description": (
        "关系库迁移（Alembic）：使用程序自带的迁移版本和 SHOUHU_SQL_URL",
        "Alembic commands wired to the packaged migrations and `settings.sql_url`.",
    ),
    "migrations.cli.url": (
        "SQLAlchemy 连接 URL（默认取 SHOUHU_SQL_URL）",
        "SQLAlchemy URL (default: settings.sql_url)",
    ),
    "migrations.cli.target": ("目标版本", "the revision"),
    "migrations.cli.upgrade": ("升级到某版本（默认 head，即最新）", "upgrade to a revision (default head)"),
    "migrations.cli.downgrade": (
        "降级到某版本（base 会删除全部表）",
        "downgrade to a revision ('base' drops everything)",
    ),
    "migrations.cli.current": ("显示数据库当前的版本", "print the database's revision"),
    "migrations.cli.check": (
        "表定义与迁移版本不一致时退出码为 1（默认在临时 SQLite 上比对）",
        "exit 1 if the table classes differ from the migrations (default: scratch SQLite)",
    ),
    "migrations.cli.history": ("列出所有迁移版本", "list the revisions"),
    "migrations.cli.revision": (
        "编写新的迁移版本文件（除非给出 --url，否则对照临时 SQLite 自动生成）",
        "write a new revision file (autogenerated against scratch SQLite unless --url)",
    ),
    "migrations.cli.message": ("迁移版本的说明", "the revision's message"),
    "migrations.cli.empty": ("不自动生成：写一个空白版本", "no autogenerate: a blank revision"),
    # What is wrong at one key path of the policy file; the key path is named exactly as written.
    "policy.in_file": ("策略文件 {source} 中 {key}：{problem}", "{source}: {key}: {problem}"),
    "policy.in_file_problem": ("策略文件 {source}：{problem}", "{source}: {problem}"),
    "policy.at": ("策略中 {key}：{problem}", "{key}: {problem}"),
    "policy.expected_table": ("应为表（table），实际是{got}", "expected a table, got {got}"),
    "policy.expected_text": ("应为非空字符串", "expected a non-empty string"),
    "policy.expected_string": ("应为字符串，实际是{got}", "expected a string, got {got}"),
    "policy.expected_text_list": ("应为字符串列表", "expected a list of strings"),
    "policy.expected_name": (
        "应为{what}的名称（字符串），实际是{got}",
        "expected the name of a {what} (a string), got {got}",
    ),
    "policy.unknown_name": ("未知的{what} {name}（已知：{known}）", "unknown {what} {name} (known: {known})"),
    "policy.unknown_key": ("未知的键（允许：{allowed}）", "unknown key (allowed: {allowed})"),
    "policy.missing": ("缺少此项", "missing"),
    "policy.version_form": ("{value} 不符合 YYYY-MM-DD.N 的格式", "{value} is not of the form YYYY-MM-DD.N"),
    "policy.classes_empty": ("至少需要一个敏感级别", "at least one sensitivity class is needed"),
    "policy.not_common_prop": (
        "不是所有类型都有的属性（这些属性是：{props}）",
        "not a property every kind has (those are: {props})",
    ),
    "policy.not_common_prop_named": (
        "{prop} 不是所有类型都有的属性",
        "{prop} is not a property every kind has",
    ),
    "policy.unknown_model_kind": (
        "未知的类型（graph/model.py 中没有这种节点或关系）",
        "unknown kind (not a node or relationship kind in graph/model.py)",
    ),
    "policy.no_model_prop": (
        "graph/model.py 中 {kind} 没有属性 {prop}",
        "{kind} has no property {prop} in graph/model.py",
    ),
    "policy.unclassified": (
        "未分级；graph/model.py 中的每个属性都需要一个敏感级别{more}",
        "not classified; every property in graph/model.py needs a sensitivity class{more}",
    ),
    "policy.unclassified_more": ("（另有未分级的：{keys}）", " (also unclassified: {keys})"),
    "policy.scope_empty": (
        "至少需要一条范围规则（一行都不可见时写 ['none']）",
        "at least one scope rule is needed (use ['none'] for no rows)",
    ),
    "policy.scope_none_alone": (
        "'none' 不能与其他范围规则同用",
        "'none' cannot be combined with other scope rules",
    ),
    "policy.scope_village_in_jurisdiction": (
        "'village' 已包含在 'jurisdiction' 之内，二者只用其一",
        "'village' is inside 'jurisdiction'; use one of them",
    ),
    "policy.star_agency_type": ("'*' 不能作为单位类型名称", "'*' is not an agency type name"),
    "policy.roles_empty": ("至少需要一个角色", "at least one role is needed"),
    "policy.star_role": ("'*' 不能作为角色名称", "'*' is not a role name"),
    "policy.agency_types_empty": ("至少需要一个单位类型", "at least one agency type is needed"),
    "policy.star_rules_role": (
        "rules.'*' 之下只允许 '*' 角色",
        "under rules.'*' only the '*' role is allowed",
    ),
    "policy.star_purpose": ("'*' 不能作为用途代码", "'*' is not a purpose code"),
    "policy.purpose_allow_and_mask": (
        "用途 {purpose} 同时列在 allow 和 mask 中",
        "purpose {purpose} is in both allow and mask",
    ),
    "policy.expected_bool": ("应为 true 或 false", "expected true or false"),
    "policy.expected_whole_number": ("应为不小于 1 的整数", "expected a whole number of at least 1"),
    "policy.field_form": (
        "应写成 'Kind.property' 或 '*.property'",
        "expected 'Kind.property' or '*.property'",
    ),
    "policy.unknown_kind_named": ("未知的类型 {kind}", "unknown kind {kind}"),
    "policy.no_prop": ("{kind} 没有属性 {prop}", "{kind} has no property {prop}"),
    "policy.mask_for_text": (
        "遮蔽方式 {mask} 只用于文本，而 {field} 的类型是 {type}；请改用 keep、null 或 redact",
        "mask {mask} is for text but {field} is {type}; use keep, null or redact",
    ),
    "policy.unclassified_prop": ("不是已分级的属性", "not a classified property"),
    "policy.unclassified_prop_named": ("{field} 不是已分级的属性", "{field} is not a classified property"),
    "policy.unknown_kind": ("未知的类型", "unknown kind"),
    "policy.unknown_capability": ("未知的权限", "unknown capability"),
    "policy.break_glass_minutes": ("应为 1 到 1440 之间的分钟数", "expected minutes between 1 and 1440"),
    "policy.expected_positive": ("应为正整数", "expected a positive integer"),
    "policy.break_glass_never_class": (
        "{name} 已列在 break_glass.never_classes 中",
        "{name} is in break_glass.never_classes",
    ),
    "policy.break_glass_never_type": (
        "{atype} 已列在 break_glass.never_agency_types 中，不得紧急访问",
        "{atype} is in break_glass.never_agency_types and may never break glass",
    ),
    # what a name in the policy file names (policy.expected_name, policy.unknown_name)
    "policy.what.class": ("敏感级别", "sensitivity class"),
    "policy.what.decision": ("决定", "decision"),
    "policy.what.scope_rule": ("范围规则", "scope rule"),
    "policy.what.role": ("{atype} 的角色", "role of {atype}"),
    "policy.what.purpose": ("用途代码", "purpose code"),
    "policy.what.agency_type": ("单位类型", "agency type"),
    "policy.what.mask": ("遮蔽方式", "mask kind"),
    "policy.what.break_glass_scope": ("紧急访问范围", "break-glass scope"),
    # the kind of a value the file holds where another belongs (English: Python's name, as before)
    "policy.type.int": ("整数", "int"),
    "policy.type.float": ("小数", "float"),
    "policy.type.bool": ("布尔值", "bool"),
    "policy.type.str": ("字符串", "str"),
    "policy.type.list": ("数组", "list"),
    "policy.type.dict": ("表", "dict"),
    "policy.type.datetime": ("日期时间", "datetime"),
    "policy.type.date": ("日期", "date"),
    "policy.type.time": ("时间", "time"),
    "policy.type.NoneType": ("空值", "NoneType"),
    "screening.rules_unreadable": ("筛查规则文件 {path}：{problem}", "screening rules {path}: {problem}"),
    # ---- the relational store (kernel.db.DatabaseUnavailable): the driver's own reason is kept
    "db.cannot_open": ("无法打开 {where}：{reason}", "cannot open {where}: {reason}"),
    "db.cannot_reach": ("无法连接 {where}：{reason}", "cannot reach {where}: {reason}"),
    "db.where.sqlite": ("SQLite 数据库 {path}", "SQLite database {path}"),
    "db.where.sqlite_memory": ("SQLite 内存数据库", "SQLite in-memory database"),
    "db.where.postgresql": ("PostgreSQL 数据库 {at}", "PostgreSQL database {at}"),
    "db.where.other": ("数据库 {url}", "database {url}"),
    "db.bad_url": (
        "数据库地址不是有效的 SQLAlchemy URL（例如 sqlite:///data/shouhu.sqlite3 或 "
        "postgresql+psycopg://user@host:5432/dbname）",
        "database URL is not a valid SQLAlchemy URL (expected e.g. sqlite:///data/shouhu.sqlite3 or "
        "postgresql+psycopg://user@host:5432/dbname)",
    ),
    "db.path_is_directory": ("该路径是目录，不是数据库文件", "the path is a directory, not a database file"),
    "db.parent_not_directory": ("{parent} 已存在且不是目录", "{parent} exists and is not a directory"),
    "db.parent_component_file": (
        "{parent} 路径中有一段是文件而不是目录",
        "a component of {parent} is a file, not a directory",
    ),
    "db.cannot_mkdir": ("无法创建目录 {parent}：{reason}", "cannot create directory {parent}: {reason}"),
    "config.file_missing": (
        "接口配置文件 {path}（SHOUHU_CONNECTORS_FILE）不存在",
        "connectors file {path} (SHOUHU_CONNECTORS_FILE) does not exist",
    ),
    "config.unknown_sources": (
        "接口配置文件 {path}：未知来源 {unknown}；可用来源：{known}",
        "connectors file {path}: unknown sources {unknown}; known: {known}",
    ),
    "config.url_only_health": (
        "来源 {source}：只有卫生健康来源可从服务器（url）读取",
        "source {source}: only health reads from a server (url)",
    ),
    "config.unknown_source": (
        "未知来源 {source}；可用来源：{known}",
        "unknown source {source}; sources: {known}",
    ),
    "config.no_path": (
        "来源 {source} 未配置路径（path）或地址（url）",
        "source {source} has no path or url configured",
    ),
    # ---- the service and the commands that go through it ---------------------------------------------
    "service.already_running": (
        "数据目录 {data_dir} 上已有服务在运行（operator.sock 有应答）",
        "a service already runs on the data directory {data_dir} (operator.sock answers)",
    ),
    "service.watch": (
        "服务正在 {data_dir} 上运行，已按各数据源的 every 定时同步，无需 --watch（见 shouhu runs）",
        "the service on {data_dir} syncs each source on its `every`; no --watch needed (see `shouhu runs`)",
    ),
    "service.stopped_following": (
        "已停止跟踪；同步仍在服务中继续",
        "stopped following; the sync goes on in the service",
    ),
    "service.shutting_down": ("服务正在停止", "the service is shutting down"),
    "operator.audit_down": (
        "审计日志不可写，请求已拒绝",
        "the audit log cannot be written; the request is refused",
    ),
    "operator.bad_secret": ("操作员口令不符", "the operator secret does not match"),
    "operator.bad_parameters": (
        "操作参数有误（{problem}），未执行",
        "the operation's parameters are wrong ({problem}); nothing was done",
    ),
    "operator.failed": (
        "操作因程序内部错误（{kind}）失败，详见服务日志",
        "the operation failed on an internal error ({kind}); see the service log",
    ),
    "operator.graph_failed": ("图数据库操作失败：{reason}", "the graph store failed: {reason}"),
    "service.waiting_turn": ("等待正在进行的同步结束", "waiting for the running sync to end"),
    "service.no_report": ("服务结束了同步，但没有给出报告", "the service ended the sync without a report"),
    "store.disk_full": (
        "数据目录所在的磁盘已满（没有剩余空间），请腾出空间后再试",
        "the disk holding the data directory is full (no space left); free some space and try again",
    ),
    "store.graph_in_use": (
        "数据目录 {data_dir} 的图存储正被另一个进程（PID {pid}）使用（同步、重放或服务）：请等它结束后再试",
        "the graph of {data_dir} is in use by another process (PID {pid}: a sync, a replay or a service); "
        "try again when it has ended",
    ),
    "service.holds_graph": (
        "数据目录 {data_dir} 上的服务正持有图存储，此命令尚不能经由服务运行；请先停止服务",
        "a service holds the graph of {data_dir} and this command does not go through it yet: "
        "stop the service",
    ),
    "service.no_answer": ("服务（{path}）无应答：{reason}", "the service on {path} did not answer: {reason}"),
    "service.answered": ("服务返回状态 {status}", "the service answered {status}"),
    # ---- init, serve, graph ----------------------------------------------------------------------
    "init.ready": (
        "图数据库（{backend}）已就绪：{where}；关系库已就绪",
        "graph ({backend}) ready at {where}; relational store ready",
    ),
    "graph.stats.title": ("图数据库（{backend}）", "graph ({backend})"),
    "graph.stats.kind": ("类别", "kind"),
    "graph.stats.count": ("数量", "count"),
    "graph.stats.node": ("节点", "node"),
    "graph.stats.rel": ("关系", "rel"),
    "graph.verify.reading": ("读取记录", "reading the record"),
    "graph.verify.title": ("图与记录核对", "graph verify"),
    "graph.verify.col.kind": ("类别", "kind"),
    "graph.verify.col.record": ("记录", "record"),
    "graph.verify.col.graph": ("图", "graph"),
    "graph.verify.col.hash": ("图内容摘要（SHA-256）", "sha256 (graph)"),
    "graph.verify.missing": ("{kind}：记录中有而图中缺少：{ids}", "{kind}: missing from the graph: {ids}"),
    "graph.verify.extra": ("{kind}：图中多出：{ids}", "{kind}: extra in the graph: {ids}"),
    "graph.verify.changed": ("{kind}：{id} 不同之处：{columns}", "{kind}: {id} differs in: {columns}"),
    "graph.verify.consistent": ("一致", "consistent"),
    "graph.verify.differs": ("不一致", "differs"),
    "graph.verify.verdict": ("{verdict}；内容摘要 {hash}", "{verdict}; content hash {hash}"),
    "api.response_too_large": (
        "回应过大：本次请求要返回的记录和列表项超过上限 {limit} 条，已停止。"
        "请缩小范围（division、first）后重试。",
        "the response is too large: the request would return more than {limit} records and list items, "
        "and was stopped. Narrow it (division, first) and try again.",
    ),
    # ---- the GraphQL API's refusals (extensions.code and .reason stay as they are: clients key on
    # them). A refusal names no record, no id and no engine text: absent and out of scope answer alike.
    # ---- missedReports: the institution a line holds to account, by name
    "accountability.facility_unknown": ("医疗机构不详", "facility unknown"),
    "accountability.school_unknown": ("学校不详", "school unknown"),
    "accountability.village_committee": ("{village}村民委员会", "{village} village committee"),
    "accountability.village_unknown": ("村民委员会（村不详）", "village committee (village unknown)"),
    "screening.birth_date_unknown": (
        "出生日期不详，无法按年龄排除，请核实",
        "birth date unknown: the age cannot rule this child out, check it",
    ),
    "api.not_found": ("您的管辖范围内没有此{what}", "no such {what} in your scope"),
    "api.what.record": ("记录", "record"),
    "api.what.person": ("人员", "person"),
    "api.what.case": ("案件", "case"),
    "api.what.report": ("报告", "report"),
    "api.what.assessment": ("评估", "assessment"),
    "api.what.service": ("帮扶服务", "service"),
    "api.what.petition": ("撤销监护资格申请", "petition"),
    "api.what.subscription": ("事件订阅", "subscription"),
    "api.what.review": ("待审核的匹配", "review"),
    "api.what.merge": ("合并", "merge"),
    "api.what.audit_entry": ("审计条目", "audit entry"),
    "api.what.visit_conflict": ("走访冲突", "visit conflict"),
    "api.forbidden": ("无权进行此操作", "not permitted"),
    "api.field_denied": ("无权查看", "not permitted"),
    "api.not_signed_in": ("未登录", "not signed in"),
    "api.not_authenticated": ("未经身份认证", "not authenticated"),
    "api.sql_unavailable": ("业务数据库未配置", "the relational store is not configured"),
    "api.sql_not_available": ("业务数据库不可用", "the relational store is not available"),
    "api.store_unavailable": (
        "图数据库未能应答，本次未作任何更改，请稍后重试",
        "the graph store could not answer; nothing changed",
    ),
    "api.internal_error": ("内部错误", "internal error"),
    "api.cursors_not_configured": ("未配置分页游标密钥", "paging cursors are not configured"),
    "api.invalid_cursor": ("此分页游标不是发给您的", "not a cursor of yours"),
    "api.pseudonyms_not_configured": ("未配置化名密钥", "pseudonyms are not configured"),
    "api.division_12_digits": ("行政区划代码应为 12 位数字", "division must be a 12-digit code"),
    "api.division_code_or_prefix": (
        "行政区划代码应为 12 位数字或其前缀",
        "division must be a 12-digit code or a code prefix",
    ),
    "api.invalid_division": ("行政区划代码有误", "invalid division"),
    "api.division_out_of_scope": ("此行政区划不在您的管辖范围内", "division outside your jurisdiction"),
    "api.lookup_not_permitted": (
        "按此信息查找人员，仅限可查看其完整内容的角色",
        "lookups by this value are for roles that may see it in full",
    ),
    "api.lookup_limit": (
        "按身份信息查找的次数已达上限，请稍后再试",
        "too many lookups by identifying value; try later",
    ),
    "api.not_a_record_id": ("不是记录编号或化名", "not a record id or pseudonym"),
    "api.pseudonym_required": (
        "化名网络只能以化名指称人员",
        "a pseudonymised network names people by pseudonym",
    ),
    "api.purpose_required": (
        "再识别须先声明使用目的",
        "re-identification needs a declared purpose of use",
    ),
    "api.purpose_unknown": ("未知的使用目的", "unknown purpose of use"),
    "api.purpose_masks_identity": (
        "所声明的使用目的（如统计分析、审计）不允许识别具体人员，不能以记录编号换取化名或以化名换取记录",
        "the declared purpose (such as statistics or audit) does not permit identifying a person: "
        "no record id for a pseudonym or pseudonym for a record",
    ),
    "api.too_many_pseudonyms": (
        "每次请求最多再识别 {limit} 个化名",
        "at most {limit} pseudonyms per request",
    ),
    "api.unknown_rule": ("未知的筛查规则", "unknown screening rule"),
    "api.person_not_in_register": ("所指人员不在户籍登记中", "a person named is not in the register"),
    "api.guardian_by_id_or_number": (
        "请按编号或按身份证号指定新监护人，不要两者都填",
        "name the new guardian by id or by ID number, not both",
    ),
    "api.unknown_id_number": ("登记中没有此身份证号", "no one in the register has this ID number"),
    "api.ambiguous_id_number": ("此身份证号对应不止一人", "the ID number is not unique"),
    "api.visit_no_outcome": (
        "走访既未记录，也未作为冲突保留",
        "the visit was neither recorded nor held as a conflict",
    ),
    "api.report_own_division": (
        "定期报告由本级区划的单位上报",
        "a report is submitted by its own division's agency",
    ),
    "api.report_level_above": (
        "定期报告由上一级审核，不能由本级自行审核",
        "a report is approved by the level above, not by its own division",
    ),
    "api.query_too_expensive": ("查询代价过高，请缩小范围", "query is too expensive"),
    "api.too_many_directives": ("查询中的指令过多", "too many directives"),
    "api.query_too_deep": (
        "查询嵌套过深：{depth} 层，最多 {limit} 层",
        "query is too deep: {depth} levels, at most {limit} allowed",
    ),
    "api.too_many_aliases": (
        "查询中的别名过多：{count} 个，最多 {limit} 个",
        "too many aliases: {count}, at most {limit} allowed",
    ),
    "api.too_many_tokens": (
        "查询文本过长：超过 {limit} 个词法单元",
        "the document has more than {limit} tokens",
    ),
    "api.document_too_deep": ("查询文本嵌套过深", "the document is nested too deeply"),
    "api.too_many_fields": (
        "查询选取了 {count} 个字段，最多 {limit} 个",
        "the document selects {count} fields, at most {limit} allowed",
    ),
    "api.list_variable_too_long": (
        "列表变量有 {count} 项，最多 {limit} 项",
        "a list variable has {count} items, at most {limit} allowed",
    ),
    "api.unresolvable_entities": (
        "_entities 不能按引用解析 {types}；可解析的类型：{resolvable}",
        "_entities cannot resolve {types} by reference; resolvable: {resolvable}",
    ),
    "api.schema_reader": (
        "GraphQL 内省和 _service 仅提供给有接口结构读取授权（scope {scope}）的调用方（开发模式除外）",
        "GraphQL introspection and _service are served only to schema readers (scope {scope}) outside "
        "dev mode",
    ),
    "api.post_json": ("请用 POST 方法发送 JSON 请求体", "use POST with a JSON body"),
    "api.rate_limited": ("请求过于频繁，请放慢速度", "rate limit exceeded; slow down"),
    "api.body_too_large": ("请求内容过大", "request body too large"),
    "api.body_not_json": ("请求体不是 JSON", "body is not JSON"),
    "api.json_too_deep": ("JSON 嵌套超过 {limit} 层", "JSON nested deeper than {limit} levels"),
    "api.batch_refused": (
        "不接受批量请求，每次请求只发送一个操作",
        "batched requests are not accepted; send one operation per request",
    ),
    "api.body_not_object": ("请求体须为 JSON 对象", "body must be a JSON object"),
    "api.variables_not_object": ("variables 须为对象", "variables must be an object"),
    "api.operation_name_not_string": ("operationName 须为字符串", "operationName must be a string"),
    "api.persisted_only": ("只接受已登记的操作", "only persisted operations are accepted"),
    "api.missing_query": ("缺少查询（query）", "missing query"),
    "api.audit_unavailable": (
        "审计日志不可用，请求已拒绝",
        "the audit log is unavailable; request refused",
    ),
    "api.request_too_deep": ("请求嵌套过深", "the request is nested too deeply"),
    "api.time_budget": (
        "请求超过时限 {seconds} 秒，已停止",
        "the request ran past its time budget of {seconds} s and was stopped",
    ),
    "api.client_gone": ("客户端已断开，请求已停止", "the client went away; the request was stopped"),
    "api.operation_undetermined": (
        "无法确定要执行的操作：请用 operationName 指明查询文本中的一个操作",
        "the operation to run could not be determined: name one operation of the document with operationName",
    ),
    # graphql-core's refusals of a document or its variables (api.errors.engine_message): the names
    # the client wrote and where, never a value it sent.
    "api.syntax_error": (
        "查询语句有语法错误：第 {line} 行第 {column} 列附近",
        "syntax error in the query near line {line}, column {column}",
    ),
    "api.invalid_query_at": (
        "查询语句有误：第 {line} 行第 {column} 列附近",
        "the query is not valid near line {line}, column {column}",
    ),
    "api.invalid_query": ("查询语句有误", "the query is not valid"),
    "api.unknown_field": ("{type} 没有字段 {field}", "there is no field {field} on {type}"),
    "api.unknown_argument": ("{field} 没有参数 {argument}", "{field} has no argument {argument}"),
    "api.argument_required": ("{field} 须提供参数 {argument}", "{field} needs the argument {argument}"),
    "api.needs_subfields": (
        "字段 {field} 须列出要取回的下级字段",
        "{field} needs the fields you want under it",
    ),
    "api.no_subfields": ("字段 {field} 没有下级字段可选", "{field} has no fields under it"),
    "api.unknown_type": ("没有类型 {type}", "there is no type {type}"),
    "api.unknown_fragment": ("没有名为 {name} 的片段（fragment）", "there is no fragment named {name}"),
    "api.variable_unused": ("变量 ${name} 未被使用", "variable ${name} is never used"),
    "api.variable_undefined": ("变量 ${name} 未声明", "variable ${name} is not defined"),
    "api.variable_invalid": (
        "变量 ${name} 缺失或其值的类型不对",
        "variable ${name} is missing or its value is of the wrong type",
    ),
    "api.variable_bad_enum": (
        "变量 ${name} 的值不是 {type} 的可选值；可选：{allowed}",
        "variable ${name} is not a value of {type}; one of {allowed}",
    ),
    "api.bad_value": (
        "第 {line} 行第 {column} 列的值不是 {type} 类型",
        "the value at line {line}, column {column} is not of type {type}",
    ),
    "api.bad_value_unplaced": ("有一个值不是 {type} 类型", "a value is not of type {type}"),
    "api.bad_enum": ("{type} 的取值无效；可选：{allowed}", "not a value of {type}; one of {allowed}"),
    # ---- protection workflow refusals (WorkflowError, TransitionRefused, VisitError, ReportError):
    # the message names the rule; the code, reason and extensions (missing, allowed…) are the API's.
    "workflow.transition_refused": (
        "{noun}当前为“{status}”，不能{action}（须为：{needs}）",
        "{action} is not possible while the {noun} is {status} (needs {needs})",
    ),
    "workflow.or": ("或", " or "),
    "workflow.list_sep": ("、", ", "),
    "workflow.action.file_report": ("提交强制报告", "filing a report"),
    "workflow.action.accept_report": ("受理报告", "accepting the report"),
    "workflow.action.emergency_action": ("记录应急处置", "an emergency action"),
    "workflow.action.notify_township": ("通报乡镇", "notifying the township"),
    "workflow.action.open_assessment": ("启动评估", "opening the assessment"),
    "workflow.action.record_assessment": ("记录评估结论", "recording the assessment"),
    "workflow.action.arrange_services": ("安排帮扶服务", "arranging services"),
    "workflow.action.follow_up": ("跟踪回访", "a follow-up"),
    "workflow.action.complete_service": ("完成帮扶服务", "completing a service"),
    "workflow.action.close_case": ("结案", "closing the case"),
    "workflow.action.intervention": ("采取干预措施", "an intervention"),
    "workflow.action.petition_court": ("申请撤销监护人资格", "an intervention"),
    "workflow.action.file_dropout": ("提交辍学书面报告", "filing a dropout report"),
    "workflow.action.acknowledge": ("签收", "acknowledging"),
    "workflow.action.accept": ("受理", "accepting"),
    "workflow.action.decide": ("裁定", "deciding"),
    "workflow.action.submit": ("上报", "submitting"),
    "workflow.action.approve": ("审核通过", "approving"),
    "workflow.action.return": ("退回", "returning"),
    "workflow.status.new": ("尚未建立", "not yet created"),
    "workflow.status.reported": ("已报告，待受理", "reported"),
    "workflow.status.emergency_response": ("应急处置", "in emergency response"),
    "workflow.status.assessment_pending": ("待评估", "awaiting assessment"),
    "workflow.status.assessment": ("评估中", "in assessment"),
    "workflow.status.assistance": ("帮扶中", "in assistance"),
    "workflow.status.closed": ("已结案", "closed"),
    "workflow.status.filed": ("已提交", "filed"),
    "workflow.status.acknowledged": ("已签收", "acknowledged"),
    "workflow.status.accepted": ("已受理", "accepted"),
    "workflow.status.pending": ("待裁定", "pending"),
    "workflow.status.decided": ("已裁定", "decided"),
    "workflow.status.draft": ("草稿", "draft"),
    "workflow.status.submitted": ("已上报", "submitted"),
    "workflow.status.approved": ("已审核通过", "approved"),
    "workflow.status.returned": ("已退回", "returned"),
    "workflow.case_changed": (
        "案件已被他人更新，请重新加载后再试",
        "the case was changed meanwhile; reload it and try again",
    ),
    "workflow.client_ref_length": (
        "clientRef 长度应为 1 至 64 个字符",
        "clientRef must be 1 to 64 characters",
    ),
    "workflow.client_ref_reused": (
        "此 clientRef 已用于另一份报告",
        "that clientRef was already used for another report",
    ),
    "workflow.unknown_value": ("{field} 的值无效；可选：{allowed}", "unknown {field}; one of {allowed}"),
    "workflow.summary_missing": (
        "报告须写明发现的情况（summary）",
        "a report needs a summary of what was found",
    ),
    "workflow.no_division": (
        "儿童没有已知的行政区划，无法转交报告",
        "the child has no known division to route the report by",
    ),
    "workflow.no_police": (
        "儿童所在辖区未登记公安机关",
        "no police agency is registered for the child's jurisdiction",
    ),
    "workflow.no_township": ("儿童所在区划未登记乡镇", "no township is registered for the child's division"),
    "workflow.no_court": ("儿童所在辖区未登记法院", "no court is registered for the child's jurisdiction"),
    "workflow.dropout_needs_attempts": (
        "辍学书面报告须写明已做的劝返工作",
        "a written dropout report needs what was tried (劝返)",
    ),
    "workflow.report_already": ("此报告已是“{status}”状态", "the report is already {status}"),
    "workflow.not_lead_township": (
        "只有牵头办理此案的乡镇（或民政部门）可以进行此操作",
        "only the township leading the case (or civil affairs) may do this",
    ),
    "workflow.participant_unregistered": ("有参与单位未登记", "a participant is not a registered agency"),
    "workflow.assessment_participants": (
        "评估须有民政部门和公安机关参与；缺少：{missing}",
        "the assessment is made with civil affairs and the police; missing: {missing}",
    ),
    "workflow.agency.civil_affairs": ("民政部门", "civil_affairs"),
    "workflow.agency.public_security": ("公安机关", "public_security"),
    "workflow.assessment_needs": ("评估须填写：{missing}", "the assessment needs: {missing}"),
    "workflow.finding.safety": ("安全状况", "safety"),
    "workflow.finding.guardianship": ("监护情况", "guardianship"),
    "workflow.finding.physical_health": ("身体健康", "physical_health"),
    "workflow.finding.mental_health": ("心理健康", "mental_health"),
    "workflow.finding.risk_level": ("风险等级", "risk_level"),
    "workflow.plan_needs_service": ("帮扶计划至少须有一项服务", "a plan needs at least one service"),
    "workflow.service_needs_provider": ("“{service}”须写明提供方", "{service} needs a provider"),
    "workflow.assistance_needs_basis": (
        "社会救助须写明家庭符合的政策依据（basis）",
        "social assistance needs the policy the family qualifies under (basis)",
    ),
    "workflow.provider_unregistered": ("服务提供单位未登记", "the provider agency is not registered"),
    "workflow.not_provider": (
        "只有服务提供方、乡镇或民政部门可以进行此操作",
        "only the provider, the township or civil affairs may do this",
    ),
    "workflow.follow_up_needs_finding": ("跟踪回访须写明发现的情况", "a follow-up needs what was found"),
    "workflow.service_completed": ("此帮扶服务已完成", "the service is already completed"),
    "workflow.completion_needs_outcome": ("完成帮扶服务须写明结果", "completing a service needs its outcome"),
    "workflow.close_needs_plan": (
        "案件须在帮扶计划之后结案：尚未安排任何服务",
        "a case is closed after its assistance plan: no service arranged",
    ),
    "workflow.services_open": ("仍有 {count} 项帮扶服务未完成", "{count} service(s) still open"),
    "workflow.close_needs_follow_up": ("尚无跟踪回访记录", "no follow-up is on record"),
    "workflow.close_needs_reason": ("结案须写明理由", "closing needs a reason"),
    "workflow.petition_pending": (
        "此案的撤销监护人资格申请正等待法院裁定",
        "a court petition on this case awaits its decision",
    ),
    "workflow.petition_exists": (
        "此案已有一份撤销监护人资格申请在等待法院裁定",
        "a petition on this case already awaits the court's decision",
    ),
    "workflow.police_kind": (
        "“{kind}”由办理此案的公安机关作出",
        "{kind} is for the police agency handling the case",
    ),
    "workflow.temporary_guardianship_local": (
        "临时监护由儿童所在地的单位安排",
        "temporary guardianship is arranged by agencies of the child's area",
    ),
    "workflow.kind_needs_guardian": (
        "“{kind}”须指明针对的监护人（guardianId）",
        "{kind} needs the guardian it is directed at (guardianId)",
    ),
    "workflow.temporary_guardian_needed": (
        "临时监护须指明临时监护人（人员编号或机构）",
        "temporary guardianship needs the temporary guardian (person id or institution)",
    ),
    "workflow.petition_local": (
        "撤销监护人资格申请由儿童所在地的单位提出",
        "petitions come from agencies of the child's area",
    ),
    "workflow.petition_needs_ground": (
        "申请须至少列明一项法定事由",
        "a petition names at least one statutory ground",
    ),
    "workflow.grounds_not_supported": (
        "记录尚不足以支持所列法定事由：{details}",
        "the record does not support the grounds: {details}",
    ),
    "workflow.ground_lacks": ("“{ground}”缺少{facts}", "{ground} lacks {facts}"),
    "workflow.clause_sep": ("；", "; "),
    "workflow.ground_fact.unsupervised_report": (
        "儿童无人监护（独居、监护缺失或失踪）的报告",
        "a report of the child unsupervised (living alone, neglect or missing)",
    ),
    "workflow.ground_fact.admonition": (
        "对监护人训诫或批评教育的记录",
        "an admonition (训诫/批评教育) of the guardian on record",
    ),
    "workflow.ground_fact.unchanged_after_admonition": (
        "训诫之后仍无改变的再次报告（经教育不改）",
        "a later report showing no change after the admonition (经教育不改)",
    ),
    "workflow.ground_fact.demand": (
        "要求监护人履行职责的记录（责令返回、联系、训诫）",
        "a demand on the guardian to take up the duty (order back, contact, admonition)",
    ),
    "workflow.ground_fact.six_months": (
        "自首次要求起满六个月",
        "six months since the first demand on the guardian",
    ),
    "workflow.ground_fact.no_guardian_named": (
        "要求之后未另行确定监护人（否则视为已履行职责）",
        "no guardian named since the demand (the duty was taken up)",
    ),
    "workflow.ground_fact.without_support": (
        "儿童生活无着：临时照料安置或临时监护的记录",
        "the child without support: a temporary care placement or temporary guardianship",
    ),
    "workflow.ground_fact.harm_case": (
        "家庭暴力、虐待或伤害的个案",
        "a case of domestic violence, abuse or harm",
    ),
    "workflow.ground_fact.serious_injury": (
        "认定重伤的伤情鉴定",
        "an injury assessment finding serious harm (重伤)",
    ),
    "workflow.ground_fact.penalty": (
        "对该监护人的治安处罚或立案侦查",
        "a penalty or criminal referral against this guardian",
    ),
    "workflow.not_a_guardian": (
        "此人不是记录中该儿童的父母或监护人",
        "the person is not on record as the child's parent or guardian",
    ),
    "workflow.not_petitioned_court": ("只有受理申请的法院可以裁定", "only the court petitioned decides"),
    "workflow.petition_decided": ("此申请已裁定", "the petition is already decided"),
    "workflow.decision_value": ("裁定结果应为 revoked 或 dismissed", "decision is revoked or dismissed"),
    "workflow.revocation_needs_guardian": (
        "撤销监护人资格须另行指定监护人",
        "revoking guardianship names the new guardian (另行指定监护人)",
    ),
    "workflow.new_guardian_same": (
        "新监护人不能是被撤销资格的监护人",
        "the new guardian is the one whose guardianship is revoked",
    ),
    "workflow.agreement_needs_parents": (
        "协议由父母签订（parentIds）",
        "an agreement is signed by the parents (parentIds)",
    ),
    "workflow.entrustment_needs_guardian": (
        "委托监护协议须指明受委托监护人（guardianId）",
        "an entrustment names the entrusted guardian (guardianId)",
    ),
    "workflow.valid_to_after_from": ("validTo 须晚于 validFrom", "validTo must be after validFrom"),
    "workflow.not_case_police": (
        "只有办理此案的公安机关可以记录此措施",
        "only the police agency handling the case may record this measure",
    ),
    "workflow.notify_by_case_police": (
        "只有办理此案的公安机关可以通报乡镇",
        "only the police agency handling the case notifies the township",
    ),
    "workflow.measure_not_for_situation": (
        "此措施不适用于本案的情形",
        "this measure is not one for the case's situation",
    ),
    "workflow.needs_first": ("“{action}”须先完成：{first}", "{action} needs {first} first"),
    "workflow.measures_missing": (
        "通报乡镇前，本案情形须有的应急措施尚未记录：{first}",
        "emergency measures the case's situation requires are not yet on record: {first}",
    ),
    "workflow.measure_needs": ("“{action}”还须填写：{missing}", "{action} needs: {missing}"),
    "workflow.fact_sep": ("；", "; "),
    "workflow.fact.guardian_named": ("personId（所指定的监护人）", "personId (the guardian named)"),
    "workflow.fact.placement_kind": ("placementKind（安置方式：{kinds}）", "placementKind ({kinds})"),
    "workflow.fact.care_place": ("place（儿童受照料的地点）", "place (where the child is cared for)"),
    "workflow.fact.since": ("since（自何时起）", "since (from when)"),
    "workflow.fact.place": ("place（地点）", "place"),
    "workflow.fact.since_short": ("since（起始日期）", "since"),
    "workflow.fact.medical_place": ("place（医疗机构）", "place (the medical institution)"),
    "workflow.fact.severity": ("severity（伤情程度：{kinds}）", "severity ({kinds})"),
    # ---- visits -----------------------------------------------------------------------------------
    "visit.client_id": (
        "clientId 应为 1–64 个字母、数字或“-”",
        "clientId must be 1–64 letters, digits or '-'",
    ),
    "visit.adult": (
        "此人走访当日已满{age}周岁，走访只记录未成年人",
        "this person was {age} or older on the day of the visit; visits are recorded for children only",
    ),
    "visit.in_future": ("走访日期（visitedOn）晚于今天", "visitedOn is in the future"),
    "visit.base_version_negative": ("baseVersion 不能为负数", "baseVersion cannot be negative"),
    "visit.notes_too_long": ("备注超过 {limit} 个字符", "notes longer than {limit} characters"),
    "visit.client_id_reused": (
        "此 clientId 已用于另一次走访",
        "clientId was already used for a different visit",
    ),
    "visit.version_moved": (
        "儿童的走访记录已被他人更新，请重新提交",
        "the child's visit record changed meanwhile; send again",
    ),
    "visit.conflict_resolved": ("此冲突已处理", "this conflict is already resolved"),
    "visit.version_moved_again": (
        "冲突产生后，儿童的走访记录又有更新",
        "the child's visit record changed again since the conflict was raised",
    ),
    "visit.merge_needs_fields": ("合并须提供合并后的走访内容", "merge needs the merged visit fields"),
    # ---- the reporting chain (ReportError) ----------------------------------------------------------
    "reporting.bad_period": (
        "报告期 {period} 应为 YYYY-Qn（季度）或 YYYY（年度）",
        "period {period} is neither YYYY-Qn (quarterly) nor YYYY (annual)",
    ),
    "reporting.period_out_of_range": (
        "报告期 {period} 不在可报告的年份内（{first} 年至明年）",
        "period {period} is outside the years that can be reported on ({first} to next year)",
    ),
    "reporting.bad_division": ("行政区划代码应为 12 位数字", "the division is not a 12-digit code"),
    "reporting.level": ("定期报告由村、乡镇和县制作", "reports are made by villages, townships and counties"),
    "reporting.already": ("此报告已是“{status}”状态", "the report is already {status}"),
    "reporting.not_begun": ("{period} 尚未开始，不能上报", "{period} has not begun and cannot be reported"),
    "reporting.lower_missing": (
        "{period} 尚有 {count} 个下级区划未上报：{divisions}",
        "{count} division(s) below have not submitted {period}: {divisions}",
    ),
    "reporting.changed": ("报告已被他人更新，请刷新后再试", "the report changed meanwhile"),
    "reporting.not_submitted": (
        "只有已上报的报告可以审核通过或退回（当前为“{status}”）",
        "only a submitted report can be approved or returned (it is {status})",
    ),
    "reporting.note_required": (
        "退回报告须写明需要更正的内容",
        "returning a report needs a note saying what to correct",
    ),
    # ---- the review queue's decisions (ResolutionError): no record id and no one's name in them --------
    "resolution.not_linked": ("此来源记录未关联到任何人员", "the mention is not linked to anyone"),
    "resolution.review_missing": ("此待审核的匹配不存在", "the review item does not exist"),
    "resolution.review_closed": ("此待审核的匹配已处理（{status}）", "the review item is already {status}"),
    "resolution.review_status.merged": ("已合并", "merged"),
    "resolution.review_status.rejected": ("已驳回", "rejected"),
    "resolution.decider_required": ("请写明作出此决定的人", "a decision needs the name of whoever made it"),
    "resolution.merge_missing": ("此合并不存在", "the merge does not exist"),
    "resolution.merge_undone": ("此合并已被撤销", "the merge was already undone"),
    # ---- network tracing (NetworkError) --------------------------------------------------------------
    "network.unknown_types": (
        "未知的关系类型 {unknown}；可选：{known}",
        "unknown relationship types {unknown}; known: {known}",
    ),
    "network.no_types": (
        "请至少给出一种关系类型，或不填以查看家庭关系网",
        "give at least one relationship type, or none for the family network",
    ),
    "network.depth": (
        "depth 须在 1 到 {limit} 之间，而非 {depth}",
        "depth must be between 1 and {limit}, not {depth}",
    ),
    "network.min_children": ("minChildren 至少为 1", "minChildren must be at least 1"),
    "network.max_age": ("maxAge 须在 1 到 18 之间", "maxAge must be between 1 and 18"),
    # ---- webhook subscriptions (WebhookError) ----------------------------------------------------------
    "webhook.no_host": ("webhook 地址没有主机名", "the webhook URL has no host"),
    "webhook.unresolved": ("webhook 主机名无法解析", "the webhook host does not resolve"),
    "webhook.non_public": (
        "webhook 主机解析到非公网地址（{ip}），且不在 SHOUHU_WEBHOOK_ALLOWED_NETWORKS 所列网络内",
        "the webhook host resolves to a non-public address ({ip}) outside SHOUHU_WEBHOOK_ALLOWED_NETWORKS",
    ),
    "webhook.not_absolute": (
        "webhook 地址须为完整的 https:// 地址",
        "the webhook URL must be an absolute https:// URL",
    ),
    "webhook.https_only": (
        "webhook 地址须使用 https（http 仅限开发模式或所列内网）",
        "the webhook URL must use https (http only in dev mode or on a listed intranet)",
    ),
    "webhook.unknown_events": (
        "未知的事件类型 {unknown}；可选：{known}",
        "unknown event types {unknown}; known: {known}",
    ),
    "graph.verify.failed": ("无法核对：{reason}", "cannot verify: {reason}"),
    "graph.rebuild.loading": ("写入新图", "loading the new graph"),
    "graph.build_worker.stopped": (
        "建图子进程意外退出（退出码 {code}：{cause}），新图未建成，原图照常使用；可再次运行 graph rebuild",
        "the graph build's worker process stopped (exit code {code}: {cause}); the new graph was not built "
        "and the old one is still served; run graph rebuild again",
    ),
    "graph.build_worker.signal": ("被信号 {signal} 终止", "killed by signal {signal}"),
    "graph.write_busy": (
        "图数据库正忙于其他写入（数据同步或首次加载建图），{seconds} 秒内未能写入，"
        "本次更改未保存，请稍后重新提交",
        "the graph is busy with another write (a sync or a first load's build): this change could not be "
        "written within {seconds} s and was not saved; send it again shortly",
    ),
    "graph.unavailable": (
        "图数据库正在关闭或重新打开，请稍后重试",
        "the graph is closed or being reopened; try again shortly",
    ),
    "graph.rebuild.failed": ("重建失败：{reason}", "rebuild failed: {reason}"),
    "graph.rebuild.done": (
        "图已从记录重建：{nodes} 个节点、{relationships} 条关系，用时 {seconds} 秒",
        "graph rebuilt from the record: {nodes} nodes, {relationships} relationships in {seconds} s",
    ),
    "graph.rebuild.kept": ("旧图保留于 {path}", "the old graph is kept at {path}"),
    # ---- sync: the run report ---------------------------------------------------------------------
    "sync.title": (
        "{kind} {run} — 共 {records} 条记录，用时 {seconds} 秒（每秒 {rate} 条）",
        "{kind} {run} — {records} records in {seconds} s ({rate} records/s)",
    ),
    "sync.col.source": ("来源", "source"),
    "sync.col.received": ("接收", "received"),
    "sync.col.new": ("新增", "new"),
    "sync.col.unchanged": ("未变", "unchanged"),
    "sync.col.resumed": ("续接", "resumed"),
    "sync.col.loaded": ("入库", "loaded"),
    "sync.col.quarantined": ("隔离", "quarantined"),
    "sync.col.warnings": ("警告", "warnings"),
    "sync.col.status": ("状态", "status"),
    "sync.total": ("合计", "total"),
    "sync.accounting": (
        "核对：接收 {received} + 续接 {resumed} = 入库 {loaded} + 隔离 {quarantined} + 未变 {unchanged} "
        "+ 重复 {duplicates}；无法解释 {unexplained} {mark}",
        "accounting: received {received} + resumed {resumed} = loaded {loaded} + quarantined "
        "{quarantined} + unchanged {unchanged} + duplicates {duplicates}; unexplained {unexplained} {mark}",
    ),
    "sync.by_reason": ("隔离原因：{reasons}", "quarantined by reason: {reasons}"),
    "sync.by_warning": ("入库但有警告：{warnings}", "loaded with warnings: {warnings}"),
    "sync.graph_built": (
        "图：首次加载，由关系库一次建成：节点 {nodes}，关系 {relationships}，"
        "用时 {seconds} 秒；匹配方式：{resolver}",
        "graph: first load, built once from the record: {nodes} nodes, {relationships} relationships in "
        "{seconds} s; resolver: {resolver}",
    ),
    "sync.graph": (
        "图：新建 {created}，更新 {updated}，未变 {unchanged}；匹配方式：{resolver}",
        "graph: {created} created, {updated} updated, {unchanged} unchanged; resolver: {resolver}",
    ),
    "sync.phase.land": ("接收", "landing"),
    "sync.phase.process": ("处理", "processing"),
    "sync.reclassifying": ("重新分类", "reclassifying"),
    "sync.reclassified": (
        "已重新分类 {children} 名儿童（{seconds} 秒）",
        "reclassified {children} children ({seconds} s)",
    ),
    "sync.watching": ("持续同步：{sources}", "watching: {sources}"),
    "sync.every": ("{source} 每 {every}", "{source} every {every}"),
    "sync.file.ignored": ("已忽略", "ignored"),
    "sync.file.failed": ("无法读取，已隔离", "unreadable, quarantined"),
    "sync.file.empty": ("空文件", "empty file"),
    "sync.file.stopped": ("读取中断，未读完", "reading stopped partway"),
    "sync.error_withheld": (
        "出错（{kind}）。原错误文字可能含个人信息，已在升级时删除。",
        "failed ({kind}); its original text could hold personal data and was removed on upgrade",
    ),
    "sync.read_failed": (
        "读取 {where} 时失败（已接收 {records} 条记录）：{reason}。已读到的记录照常处理；"
        "排除故障后再次同步，会从上次完整读取的位置重新读取。",
        "reading {where} failed (after {records} records received): {reason}. The records read "
        "before are processed as usual; once the fault is fixed, the next sync reads again from where "
        "the last complete read ended.",
    ),
    "sync.read_failed.file": (
        "读取文件 {file} 时失败（已读该文件 {records} 条记录）：{reason}。此前读到的记录照常处理，"
        "其后的记录和文件未读取；修复或替换该文件后再次同步，会从上次完整读取的位置重新读取。",
        "reading the file {file} failed (after {records} of its records): {reason}. The records read "
        "before are processed as usual; what follows it was not read. Once the file is repaired or "
        "replaced, the next sync reads again from where the last complete read ended.",
    ),
    "sync.stopped_on_request": (
        "服务停止，本数据源的同步在批次之间中断；已提交的批次保留，下次同步从中断处继续。",
        "the service stopped; this source's sync was interrupted between batches — the committed "
        "batches are kept, the next sync goes on from there",
    ),
    "sync.process_failed": (
        "处理时出错（{kind}），本数据源的同步已停止；已提交的批次保留，问题排除后再次同步即可继续。",
        "processing failed ({kind}); this source's sync stopped — the committed batches are kept, "
        "sync again once the problem is fixed to go on",
    ),
    "sync.read_failed.note": (
        "读取 {records} 条记录后失败：{reason}",
        "failed after {records} records: {reason}",
    ),
    "sync.export_dir": (
        "导出目录{what}：{path}（--from 需要一个县的导出目录，内含 police、education 等子目录）",
        "export folder {what}: {path} (--from takes a county export with police, education … subfolders)",
    ),
    "sync.export_dir.missing": ("不存在", " does not exist"),
    "sync.export_dir.not_dir": ("不是目录", " is not a folder"),
    # ---- status words and sources ----------------------------------------------------------------
    "status.completed": ("完成", "completed"),
    "status.failed": ("失败", "failed"),
    "status.running": ("运行中", "running"),
    "status.interrupted": ("中断", "interrupted"),
    "status.skipped": ("跳过", "skipped"),
    "status.pending": ("待投递", "pending"),
    "status.delivered": ("已投递", "delivered"),
    "kind.sync": ("同步", "sync"),
    "kind.replay": ("重放", "replay"),
    "source.reference": ("行政区划与学校名录", "reference"),
    "source.police": ("公安户籍", "police"),
    "source.education": ("教育学籍", "education"),
    "source.health": ("卫生健康", "health"),
    "source.survey": ("村（居）摸底排查", "survey"),
    "source.police_hukou": ("公安户籍", "household register"),
    "source.police_incident": ("公安警情", "police incidents"),
    "source.none": ("无来源", "no source"),
    # ---- reasons a record is quarantined or loaded with a warning (codes stay stable for filters) ----
    "reason.column.missing": ("缺少必需的列", "required column missing"),
    "reason.date.birth_after_visit": ("出生日期晚于走访日期", "birth date after the visit date"),
    "reason.date.invalid": ("日期无效", "invalid date"),
    "reason.division.invalid": ("行政区划代码格式不对", "malformed division code"),
    "reason.division.retired": ("行政区划代码已撤销（已换为现行代码）", "retired division code (replaced)"),
    "reason.division.unknown": ("行政区划代码不在区划表中", "division code not in the table"),
    "reason.encoding.invalid": ("无法解码的文字（编码不对）", "undecodable text (wrong encoding)"),
    "reason.error.internal": ("处理时出现内部错误", "internal error while processing"),
    "reason.field.missing": ("必填项为空", "required field blank"),
    "reason.file.no_matching_sheet": ("工作簿中没有表头相符的工作表", "no sheet with a matching header"),
    "reason.file.not_bundle": ("不是 FHIR Bundle 文件", "not a FHIR Bundle"),
    "reason.file.unreadable": ("文件无法读取", "file unreadable"),
    "reason.json.invalid": ("JSON 格式错误", "malformed JSON"),
    "reason.read.failed": ("读取失败", "read failed"),
    "reason.record.duplicate": ("同一文件中记录编号重复", "record id repeated in the file"),
    "reason.reference.missing": ("引用的记录不存在", "referenced record missing"),
    "reason.reference.unresolved": ("引用的记录未能入库", "referenced record not loaded"),
    "reason.formula.uncomputed": ("公式没有计算结果", "formula never computed"),
    "reason.row.truncated": ("行不完整（被截断）", "row cut short"),
    "reason.value.invalid": ("取值无效", "invalid value"),
    "reason.id_number.invalid": (
        "身份证号无效（作为未核验的声明保留）",
        "invalid ID number (kept as an unverified claim)",
    ),
    "reason.id_number.number_cell": ("身份证号被存成数字单元格", "ID number stored as a number cell"),
    "reason.id_number.birth_mismatch": ("身份证号中的出生日期与记录不符", "ID number's birth date disagrees"),
    "reason.id_number.sex_mismatch": ("身份证号中的性别与记录不符", "ID number's sex digit disagrees"),
    "reason.id_number.length": ("身份证号位数不对", "ID number has the wrong length"),
    "reason.id_number.characters": ("身份证号含非法字符", "ID number has invalid characters"),
    "reason.id_number.check_digit": ("身份证号校验码不对", "ID number check digit wrong"),
    "reason.id_number.birth_date": ("身份证号中的出生日期无效", "ID number's birth date invalid"),
    "reason.id_number.region": ("身份证号地区码无效", "ID number's region code invalid"),
    # ---- why a record was refused or warned about (stored with the record; the clerk fixes the source) ----
    "reject.internal_error": (
        "处理此记录时程序内部出错（{kind}）。错误内容可能含个人信息，因此不显示；请告知系统维护人员此记录的接收序号。",
        "the program failed on this record ({kind}). Its text can hold personal data and is not shown; "
        "tell the maintainers this record's landing number",
    ),
    "reject.blank": ("{field}为空", "{field} is blank"),
    "reject.record_blank": ("{what} {rid}：{field}为空", "{what} {rid}: {field} is blank"),
    "reject.record_field_blank": ("{what}：{field}为空", "{what}: {field} is blank"),
    "reject.both_blank": ("{what} {rid}：{a}和{b}都为空", "{what} {rid}: {a} and {b} are both blank"),
    "reject.date_too_early": ("{field} {value} 早于 {year} 年", "{field} {value} is before {year}"),
    "reject.date_future": ("{field} {value} 晚于今天", "{field} {value} is in the future"),
    "reject.not_a_date": ("{field} {value} 不是有效日期", "{field} {value} is not a calendar date"),
    "reject.not_a_sex": ("{field} {value} 不是可识别的性别", "{field} {value} is not a sex"),
    "reject.hukou_kind": (
        "户口性质 {value} 既不是农业也不是非农业",
        "户口性质 {value} is neither 农业 nor 非农业",
    ),
    "reject.not_12_digits": ("{field} {value} 不是 12 位区划代码", "{field} {value} is not a 12-digit code"),
    "reject.division_unknown": (
        "{field} {value} 不在行政区划表中",
        "{field} {value} is not in the division table",
    ),
    "reject.unknown_kind": ("无法识别的{source}记录类型 {kind}", "unknown {source} record kind {kind}"),
    "reject.not_one_of": (
        "{field} {value} 不在可选值（{allowed}）之中",
        "{field} {value} is not one of ({allowed})",
    ),
    "reject.not_a_number": ("{field} {value} 不是数字", "{field} {value} is not a number"),
    "reject.fhir_no_resource": ("Bundle 条目中没有 resource", "entry has no resource"),
    # entries of a source folder, and sheets of a workbook, that are not read (the run report's file list)
    "folder.broken_link": (
        "链接指向的文件不存在（断开的符号链接），未读取",
        "a link to a file that does not exist (a broken symbolic link), not read",
    ),
    "folder.not_a_file": (
        "不是普通文件（管道、套接字或设备），未读取",
        "not a regular file (a pipe, a socket or a device), not read",
    ),
    "xlsx.guide_sheets_ignored": (
        "忽略工作表 {names}（填表说明、示例或隐藏的工作表）",
        "sheets ignored: {names} (instructions, examples or hidden sheets)",
    ),
    "file.old_workbook": (
        "{file} 是 {kind} 工作簿，本系统只读取 .xlsx：请在 Excel 或 WPS 中另存为 .xlsx 后重新提交（未读取）",
        "{file} is a {kind} workbook; only .xlsx is read: save it as .xlsx in Excel or WPS and send it "
        "again (not read)",
    ),
    "file.old_workbook_named_xlsx": (
        "{file} 名为 .xlsx，实为 {kind} 工作簿：请在 Excel 或 WPS 中另存为 .xlsx 后重新提交",
        "{file} is named .xlsx but is a {kind} workbook: save it as .xlsx in Excel or WPS and send it again",
    ),
    "file.formula_uncomputed": (
        "{where}的 {columns} 是公式，但文件中没有计算结果（不是由 Excel 或 WPS 保存的）：请在 Excel 或 WPS "
        "中打开并保存后重新提交",
        "{where}: {columns} is a formula with no computed value in the file (not saved by Excel or WPS): "
        "open and save it in Excel or WPS and send it again",
    ),
    "file.ctrl_z": (
        "文件末尾的 Ctrl-Z（DOS 文件结束符）不是记录，已忽略",
        "the Ctrl-Z at the end of the file (DOS end-of-file mark) is no record; ignored",
    ),
    "file.tab_separated": (
        "以制表符分隔（Excel 的“Unicode 文本”格式），已按制表符读取",
        'tab-separated (Excel\'s "Unicode text" format); read as such',
    ),
    "file.xlsx_broken": (
        "{file} 的工作表在读取中途损坏（{kind}）：之前读到的 {rows} 行已接收，其后的行未读取",
        "{file}: a sheet is corrupt and failed while read ({kind}); the {rows} rows before it were "
        "received, the rest not read",
    ),
    "reject.fhir_entry_not_object": (
        "{file} 第 {line} 行不是 Bundle 条目（应为 JSON 对象，实为 {what}）",
        "{file} line {line} is not a Bundle entry (a JSON object expected, found {what})",
    ),
    "reject.fhir_type": (
        "本接口不读取 {kind} 类型的资源",
        "resource type {kind} is not read by this connector",
    ),
    "reject.fhir_missing": ("{rid}：缺少 {field}", "{rid}: {field} is missing"),
    "reject.fhir_related": (
        "{rid}：RelatedPerson 既无姓名也无身份证号",
        "{rid}: RelatedPerson has neither name nor ID number",
    ),
    "reject.fhir_coding": ("{rid}：{field} 没有 {system} 编码", "{rid}: {field} has no {system} coding"),
    "reject.fhir_not_patient": (
        "{rid}：{field} {ref} 不是本批数据中的 Patient",
        "{rid}: {field} {ref} is not a Patient here",
    ),
    "reject.reference_not_loaded": (
        "{rid}：其引用的记录（{ref}）未入库",
        "{rid}: the record it refers to ({ref}) is not loaded",
    ),
    "warn.id_birth": (
        "身份证号中的出生日期为 {id_birth}，记录为 {birth}",
        "ID gives {id_birth}, record {birth}",
    ),
    "warn.id_sex": ("身份证号的性别位与记录不符", "the ID number's sex digit disagrees"),
    "warn.birth_after_visit": (
        "出生日期 {birth} 晚于走访日期 {visit}",
        "出生日期 {birth} is after 走访日期 {visit}",
    ),
    "id.first_generation": (
        "（不接受 15 位的第一代身份证号）",
        " (15-digit first-generation numbers are not accepted)",
    ),
    "id.length": ("应为 18 位，实为 {n} 位{hint}", "expected 18 characters, got {n}{hint}"),
    "id.characters": (
        "前 17 位须为数字，最后一位为数字或 X",
        "the first 17 characters must be digits and the last a digit or X",
    ),
    "id.check_digit": (
        "校验码为 {last}，按前 17 位应为 {expected}",
        "check character is {last}, the first 17 digits give {expected}",
    ),
    "id.birth_not_a_date": ("{value} 不是有效日期", "{value} is not a calendar date"),
    "id.birth_future": ("出生日期 {value} 晚于今天", "birth date {value} is in the future"),
    "id.birth_too_early": ("出生日期 {value} 早于 {year} 年", "birth date {value} is before {year}"),
    "id.province": ("{value} 不是省级代码", "{value} is not a province-level code"),
    "id.region": ("{value} 不是已知的地区代码", "{value} is not a known region code"),
    # ---- quarantine ---------------------------------------------------------------------------------
    "quarantine.title": ("隔离区：{total} 条记录", "quarantine: {total} records"),
    "quarantine.col.seq": ("序号", "seq"),
    "quarantine.col.source": ("来源", "source"),
    "quarantine.col.record": ("记录", "record"),
    "quarantine.col.reason": ("原因代码", "reason"),
    "quarantine.col.message": ("说明", "message"),
    "quarantine.col.from": ("出处", "from"),
    "quarantine.file_not_replayable": (
        "整文件隔离的条目无法从记录重放（{names}）：请让来源重新发送该文件，放入来源目录后运行 "
        "`shouhu sync`；不再需要的用 `shouhu quarantine dismiss <序号> --reason <原因>` 撤销。",
        "whole files in quarantine cannot be replayed from the record ({names}): have the source send the "
        "file again, put it in the source folder and run `shouhu sync`; dismiss what is no longer needed "
        "with `shouhu quarantine dismiss <seq> --reason <why>`.",
    ),
    "quarantine.whole_file": ("整个文件", "whole file"),
    "quarantine.record": ("记录", "record"),
    "quarantine.dismissed": (
        "已撤销隔离：{seq} {source} {what} {record}",
        "dismissed: {seq} {source} {what} {record}",
    ),
    "quarantine.from": ("出处 {origin}，接收于 {received}", "from {origin}, received {received}"),
    # ---- cross-check ---------------------------------------------------------------------------------
    "crosscheck.head": (
        "交叉核对（截至 {as_of}）：未满 18 周岁儿童 {children} 名",
        "cross-check as of {as_of}: {children} children under 18",
    ),
    "crosscheck.progress": ("交叉核对（人）", "cross-check (people)"),
    "crosscheck.col.finding": ("发现", "finding"),
    "crosscheck.col.children": ("儿童", "children"),
    "crosscheck.col.examples": ("示例", "examples"),
    "crosscheck.not_in_household_register": ("户籍中没有", "not in the household register"),
    "crosscheck.only_in_household_register": ("仅户籍中有", "only in the household register"),
    "crosscheck.rural_not_surveyed": ("农村儿童未摸底", "rural, not surveyed"),
    "crosscheck.school_age_not_enrolled": ("适龄未入学", "school age, not enrolled"),
    "crosscheck.survey_parents_away_but_register_mother_home": (
        "摸底称父母外出但户籍显示母亲在家",
        "survey says parents away, register says mother at home",
    ),
    "crosscheck.conflicts": (
        "各来源说法不一的属性（儿童数）：{conflicts}",
        "attributes the sources disagree on (children): {conflicts}",
    ),
    # ---- person attributes (the cross-check's disagreements) ----------------------------------------
    "attribute.name": ("姓名", "name"),
    "attribute.birth_date": ("出生日期", "birth date"),
    "attribute.sex": ("性别", "sex"),
    "attribute.id_number": ("身份证号", "ID number"),
    "attribute.phone": ("电话", "phone"),
    "attribute.hukou_type": ("户口类型", "hukou"),
    "attribute.registered_address": ("户籍地址", "registered address"),
    "attribute.residence_address": ("居住地址", "residence"),
    "attribute.works_away": ("外出务工", "works away"),
    "attribute.work_destination": ("务工地", "works in"),
    "attribute.guardianship_capacity": ("监护能力", "guardianship capacity"),
    "attribute.disability": ("残疾", "disability"),
    "attribute.division": ("区划", "division"),
    "attribute.death_date": ("死亡日期", "death date"),
    "attribute.name_pinyin": ("姓名拼音", "pinyin"),
    "attribute.deceased": ("已死亡", "deceased"),
    "attribute.work_contact": ("务工地联系方式", "contact at work"),
    "attribute.work_since": ("外出务工起始", "away since"),
    "attribute.incapacity_reason": ("无监护能力原因", "reason for incapacity"),
    "attribute.household_number": ("户号", "household number"),
    "attribute.address": ("地址", "address"),
    "attribute.relation_to_head": ("与户主关系", "relation to head"),
    "attribute.role": ("亲属关系", "relationship"),
    "attribute.kind": ("类别", "kind"),
    "attribute.since": ("起始日期", "since"),
    "attribute.until": ("截止日期", "until"),
    "attribute.conflicted": ("来源不一致的属性", "attributes in conflict"),
    "attribute.code": ("代码", "code"),
    "attribute.level": ("级别", "level"),
    "attribute.parent_code": ("上级区划代码", "parent division"),
    "crosscheck.by_sources": (
        "按掌握该儿童的来源：{counts}",
        "children by the sources that know them: {counts}",
    ),
    # ---- runs ------------------------------------------------------------------------------------------
    "runs.title": ("同步运行记录", "sync runs"),
    "runs.col.run": ("运行", "run"),
    "runs.col.kind": ("类型", "kind"),
    "runs.col.started": ("开始时间（北京时间）", "started (Beijing time)"),
    "runs.col.unexplained": ("无法解释", "unexplained"),
    # ---- audit ------------------------------------------------------------------------------------------
    "audit.no_store": (
        "{path} 中没有关系库（请先运行 `shouhu init`，或设置 SHOUHU_DATA_DIR）",
        "no relational store in {path} (run `shouhu init`, or set SHOUHU_DATA_DIR)",
    ),
    "audit.unreadable": ("无法读取 {where}：{reason}", "cannot read {where}: {reason}"),
    "audit.no_log": (
        "{where} 还没有审计日志（请先运行 `shouhu init`）",
        "{where} has no audit log yet (run `shouhu init`)",
    ),
    "audit.bad_time": (
        "{option} 的值 {value} 不是带时区的 ISO-8601 时间（例如 2026-03-01T00:00+08:00）",
        "{option} {value} is not an ISO-8601 time with a timezone (e.g. 2026-03-01T00:00+08:00)",
    ),
    "audit.bad_anchor": (
        "--anchor 应为 SEQ:HASH（序号和 64 位摘要），而不是 {value}",
        "--anchor must be SEQ:HASH (a seq number and a 64-character hash), not {value}",
    ),
    "statistics.group_by": ("分组方式应为以下之一：{allowed}", "groupBy is one of {allowed}"),
    # ---- what the audit log refuses to be asked (auth.audit.queries.AuditQueryRefused) -----------
    "audit.reviewer_invalid": (
        "审核人应为不超过 {limit} 个字符的身份标识",
        "the reviewer is an identity of 1 to {limit} characters",
    ),
    "audit.not_break_glass": (
        "此审计条目不是紧急访问（break-glass）记录",
        "the entry is not a break-glass use",
    ),
    "audit.already_reviewed": ("此紧急访问记录已由另一位审核人审核", "another reviewer already reviewed it"),
    "audit.window_range": ("时间窗口应在 5 分钟至 1 天之间", "the window is between 5 minutes and 1 day"),
    "audit.threshold_range": (
        "倍数须大于 0，最少记录数不能为负数",
        "the factor must be positive and the minimum count not negative",
    ),
    "audit.limit_range": ("每页条数应在 1 至 {limit} 之间", "a page holds 1 to {limit} entries"),
    "audit.time_without_zone": (
        "{what}须写明时区（如 2026-12-07T08:00:00+08:00）",
        "{what} needs its time zone (e.g. 2026-12-07T08:00:00+08:00)",
    ),
    "audit.intact": ("审计链完整：共 {checked} 条", "chain intact: {checked} entries"),
    "audit.head": ("链头：{seq}:{hash}", "head: {seq}:{hash}"),
    "audit.broken": ("审计链在第 {seq} 条断开：{reason}", "chain broken at seq {seq}: {reason}"),
    # why `shouhu audit verify` (and the auditVerify query) finds the chain broken
    "audit.chain.genesis_missing": (
        "缺少首条记录：审计链从第 {seq} 条开始，而不是第 1 条",
        "genesis missing: the chain starts at seq {seq}, not 1",
    ),
    "audit.chain.out_of_order": (
        "记录顺序错乱：第 {seq} 条排在第 {last} 条之后",
        "entries out of order: seq {seq} follows seq {last}",
    ),
    "audit.chain.unordered": ("记录顺序错乱", "entries out of order"),
    "audit.chain.entry_missing": (
        "缺少记录：第 {last} 条之后紧接着的是第 {seq} 条",
        "entry missing: seq {seq} follows seq {last}",
    ),
    "audit.chain.genesis_broken": (
        "首条记录被改动：其 prev_hash 不是初始值",
        "genesis broken: the first entry's prev_hash is not the genesis value",
    ),
    "audit.chain.link_broken": (
        "链接断开：prev_hash 与第 {prev} 条的摘要不符"
        "（第 {prev} 条被改写并重算了摘要，或有记录被插入、重排）",
        "link broken: prev_hash does not match the hash of seq {prev} (seq {prev} was rewritten with a new "
        "hash, or entries were inserted or reordered)",
    ),
    "audit.chain.entry_modified": (
        "此条记录被修改过：内容与其摘要不符",
        "entry modified: its content does not match its hash",
    ),
    "audit.chain.index_differs": (
        "记录索引与该条目所记的记录不一致（audit_record 表被改动）",
        "record index differs from the entry's records (audit_record rows changed)",
    ),
    "audit.chain.index_orphan": (
        "记录索引指向一个不存在的条目",
        "record index names an entry that does not exist",
    ),
    "audit.chain.truncated": (
        "审计链被截短：锚点指向第 {anchor} 条，而链只到第 {end} 条",
        "chain truncated: the anchor names seq {anchor}, the chain ends at {end}",
    ),
    "audit.chain.anchor_mismatch": ("锚点不符：审计链被改写过", "anchor mismatch: the chain was rewritten"),
    # auth.audit.AuditUnavailable: the store cannot be read or written (the driver's reason, no password)
    "audit.unavailable.read": (
        "无法读取 {where} 中的审计日志：{reason}",
        "cannot read the audit log in {where}: {reason}",
    ),
    "audit.unavailable.write": (
        "无法写入 {where} 中的审计日志：{reason}",
        "cannot write to the audit log in {where}: {reason}",
    ),
    "audit.unavailable.no_principal": (
        "没有调用者身份的变更不能记入审计日志",
        "a change without a principal cannot be put on the record",
    ),
    # the time bounds an audit query names (audit.time_without_zone)
    "audit.bound.since": ("起始时间（since）", "since"),
    "audit.bound.until": ("截止时间（until）", "until"),
    "audit.cannot_write": ("无法写入 {path}：{reason}", "cannot write {path}: {reason}"),
    "audit.exported": ("已导出 {n} 条到 {path}", "exported {n} entries to {path}"),
    # ---- reasons on an audit entry (codes stay stable: auditors filter by them; every code the
    # code base writes has a name here, tests/test_audit_reason_names.py finds them in the code) ----
    "audit.reason.accept_report": ("受理强制报告", "accept a mandatory report"),
    "audit.reason.agency_type_not_allowed": ("令牌的单位类型不被接受", "agency type not accepted"),
    "audit.reason.alg_not_allowed": ("令牌签名算法不被接受", "signature algorithm not accepted"),
    "audit.reason.allowed": ("允许", "allowed"),
    "audit.reason.approve_periodic_report": ("审核定期报告", "approve a periodic report"),
    "audit.reason.audit_review": ("应急授权复核", "break-glass review"),
    "audit.reason.audit_unavailable": ("审计日志无法写入，请求被拒绝", "audit log unavailable"),
    "audit.reason.bad_claim": ("令牌声明无效", "invalid token claim"),
    "audit.reason.bad_purpose": ("使用目的填写有误", "malformed purpose of use"),
    "audit.reason.bad_request": ("请求内容有误", "bad request"),
    "audit.reason.bad_signature": ("令牌签名无效", "bad token signature"),
    "audit.reason.batch_refused": ("不接受批量请求", "batched request refused"),
    "audit.reason.break_glass": ("应急授权查看", "visible under break-glass"),
    "audit.reason.cancelled": ("查询已取消", "cancelled"),
    "audit.reason.capability_missing": ("您的岗位没有此项权限", "your role lacks this capability"),
    "audit.reason.client_credentials": ("以客户端凭据申请令牌", "client credentials grant"),
    "audit.reason.client_gone": ("客户端已断开，查询已停止", "client disconnected"),
    "audit.reason.conflict": ("记录已被他人更新", "conflict"),
    "audit.reason.crit_unsupported": ("令牌含不支持的关键扩展", "unsupported critical token header"),
    "audit.reason.demo_synthetic": (
        "演示：代演示县其他村、乡镇上报（合成数据）",
        "demo: reported for the demo county's other divisions (synthetic)",
    ),
    "audit.reason.decide_guardianship": ("监护干预决定", "decide on guardianship"),
    "audit.reason.denied_by_policy": ("按数据政策不予显示", "denied by policy"),
    "audit.reason.expired": ("令牌已过期", "token expired"),
    "audit.reason.file_mandatory_report": ("提交强制报告", "file a mandatory report"),
    "audit.reason.forbidden": ("无权进行此操作", "forbidden"),
    "audit.reason.graph_error": ("图数据库暂时无法答复", "graph store unavailable"),
    "audit.reason.graph_busy": (
        "图数据库正忙于其他写入，更改未保存",
        "graph busy with another write; change not saved",
    ),
    "audit.reason.graphql_validation_failed": ("查询语句不符合接口结构", "query failed validation"),
    "audit.reason.internal": ("内部错误", "internal error"),
    "audit.reason.invalid_client": ("客户端身份验证失败", "client authentication failed"),
    "audit.reason.invalid_cursor": ("翻页标记无效", "invalid cursor"),
    "audit.reason.invalid_grant": ("授权无效", "invalid grant"),
    "audit.reason.invalid_input": ("填写的内容有误", "invalid input"),
    "audit.reason.invalid_jurisdiction": ("管辖区划无效", "invalid jurisdiction"),
    "audit.reason.invalid_request": ("令牌申请格式有误", "malformed token request"),
    "audit.reason.invalid_scope": ("申请的授权范围无效", "invalid scope requested"),
    "audit.reason.invalid_transition": ("当前环节不能进行此操作", "invalid transition"),
    "audit.reason.issued_in_future": ("令牌签发时间在未来", "token issued in the future"),
    "audit.reason.jurisdiction_not_allowed": ("令牌的管辖区划不被接受", "jurisdiction not accepted"),
    "audit.reason.jwks_unavailable": ("无法取得签发方的公钥", "issuer keys unavailable"),
    "audit.reason.lead_assessment": ("牵头评估帮扶", "lead an assessment"),
    "audit.reason.locked_out": (
        "多次验证失败，客户端已被暂时锁定",
        "client locked out after failed attempts",
    ),
    "audit.reason.lookup_limit": ("按身份信息查找次数超限", "too many lookups by identifying value"),
    "audit.reason.lookup_not_permitted": (
        "不能按看不到全貌的身份信息查找",
        "lookup by a value the role does not see in full",
    ),
    "audit.reason.malformed": ("令牌格式有误", "malformed token"),
    "audit.reason.manage_agreements": ("管理监护协议", "manage agreements"),
    "audit.reason.manage_webhooks": ("管理消息推送订阅", "manage webhooks"),
    "audit.reason.masked_against_reconstruction": ("为防止拼合还原而脱敏", "masked against reconstruction"),
    "audit.reason.masked_by_policy": ("按数据政策脱敏显示", "masked by policy"),
    "audit.reason.masked_for_purpose": ("按使用目的脱敏显示", "masked for this purpose"),
    "audit.reason.method_not_allowed": ("请求方法不被接受", "method not allowed"),
    "audit.reason.missing_claim": ("令牌缺少必需的声明", "token claim missing"),
    "audit.reason.missing_facts": ("缺少必要的事实或材料", "missing facts"),
    "audit.reason.missing_grounds": ("缺少法定事由", "missing grounds"),
    "audit.reason.missing_kid": ("令牌未注明签名密钥", "token key id missing"),
    "audit.reason.missing_token": ("未提供令牌", "no token"),
    "audit.reason.multiple_authorization_headers": ("请求带有多个身份凭据", "several authorization headers"),
    "audit.reason.named_by_record_id": ("以记录编号指定人员（已记录）", "named by record id (recorded)"),
    "audit.reason.no_outcome": ("尚无结论", "no outcome"),
    "audit.reason.no_principal": ("未登录", "not signed in"),
    "audit.reason.no_receiving_agency": ("没有可接收的单位", "no receiving agency"),
    "audit.reason.no_sql": ("业务数据库未配置", "no relational store"),
    "audit.reason.not_bearer": ("身份凭据不是令牌", "not a bearer token"),
    "audit.reason.not_found": ("未找到，或不在管辖范围内", "not found"),
    "audit.reason.not_receiving_agency": ("不是报告的受理单位", "not the receiving agency"),
    "audit.reason.period_not_begun": ("报告期尚未开始，不能提交", "the reporting period has not begun"),
    "audit.reason.not_level_above": (
        "只有上一级（村报告由乡镇、乡镇报告由县）可以审核",
        "only the level directly above may decide the report",
    ),
    "audit.reason.not_found_or_out_of_scope": (
        "未找到，或不在您的管辖范围内",
        "not found, or outside your scope",
    ),
    "audit.reason.not_own_division": ("报表由本区划的单位上报", "a report is submitted by its own division"),
    "audit.reason.not_yet_valid": ("令牌尚未生效", "token not yet valid"),
    "audit.reason.note_required": (
        "退回须写明需要更正的内容",
        "returning needs a note saying what to correct",
    ),
    "audit.reason.operator.invalid_name": ("操作人名称无效", "invalid operator name"),
    "audit.reason.out_of_scope": ("超出您的管辖范围", "outside your jurisdiction"),
    "audit.reason.own_report": (
        "报表由上一级审核，不能审核本级报表",
        "a report is decided by the level above",
    ),
    "audit.reason.persisted_query_not_found": ("只接受已登记的查询", "not a persisted query"),
    "audit.reason.petition_court": ("向法院申请", "petition the court"),
    "audit.reason.pseudonym_required": (
        "假名化网络只能用假名指代人员",
        "a pseudonymised network names people by pseudonym",
    ),
    "audit.reason.pseudonymised": ("已假名化", "pseudonymised"),
    "audit.reason.pseudonymised_networks": ("假名化查看关系网络", "pseudonymised networks"),
    "audit.reason.purpose_not_permitted": (
        "所声明的使用目的不允许查看此项",
        "the declared purpose does not permit this",
    ),
    "audit.reason.purpose_required": ("须先声明使用目的", "a purpose of use is required"),
    "audit.reason.query_too_deep": ("查询嵌套过深", "query too deep"),
    "audit.reason.query_too_expensive": ("查询代价超出上限", "query too expensive"),
    "audit.reason.rate_limited": ("请求过于频繁", "rate limited"),
    "audit.reason.read_accountability": ("查看履职情况", "read accountability"),
    "audit.reason.read_audit_log": ("查看审计日志", "read the audit log"),
    "audit.reason.read_classification": ("查看分类结果", "read classifications"),
    "audit.reason.read_crosscheck": ("查看数据比对", "read the cross-check"),
    "audit.reason.read_periodic_report": ("查看定期报告", "read periodic reports"),
    "audit.reason.read_statistics": ("查看统计", "read statistics"),
    "audit.reason.read_worklist": ("查看工作清单", "read the worklist"),
    "audit.reason.recompute_classification": ("重新分类", "recompute classifications"),
    "audit.reason.record_assistance": ("记录帮扶服务", "record assistance"),
    "audit.reason.record_emergency_action": ("记录应急处置", "record an emergency action"),
    "audit.reason.record_intervention": ("记录干预措施", "record an intervention"),
    "audit.reason.record_visit": ("记录走访", "record a visit"),
    "audit.reason.reidentify": ("再识别", "re-identification"),
    "audit.reason.request_too_large": ("请求内容过大", "request too large"),
    "audit.reason.retired_key": ("令牌由已停用的密钥签发", "token signed with a retired key"),
    "audit.reason.review_matches": ("审核人员匹配", "review matches"),
    "audit.reason.schema_reader": ("须有读取接口结构的授权", "schema reading not permitted"),
    "audit.reason.scope_missing": ("令牌缺少相应授权范围", "the token lacks the scope"),
    "audit.reason.submit_periodic_report": ("上报定期报告", "submit a periodic report"),
    "audit.reason.temporarily_unavailable": ("暂时无法签发令牌", "token issuance temporarily unavailable"),
    "audit.reason.response_too_large": ("响应超出大小上限，已停止", "stopped past its response bound"),
    "audit.reason.time_budget": ("查询超出时限，已停止", "stopped past its time budget"),
    "audit.reason.time_budget_exceeded": ("查询超出时限，已停止", "time budget exceeded"),
    "audit.reason.too_many_aliases": ("查询中的别名过多", "too many aliases"),
    "audit.reason.too_many_directives": ("查询中的指令过多", "too many directives"),
    "audit.reason.trace_networks": ("查看关系网络", "trace networks"),
    "audit.reason.unauthenticated": ("未通过身份验证", "unauthenticated"),
    "audit.reason.unauthorized_client": (
        "客户端无权以此方式申请令牌",
        "client not authorised for this grant",
    ),
    "audit.reason.unavailable": ("服务暂时不可用", "unavailable"),
    "audit.reason.unclassified": ("该字段未分级，默认不予显示", "unclassified field"),
    "audit.reason.unexpected_header": ("令牌头部含意外内容", "unexpected token header"),
    "audit.reason.unknown_kid": ("令牌的签名密钥未知", "unknown signing key"),
    "audit.reason.unknown_role": ("未知岗位", "unknown role"),
    "audit.reason.unsupported_grant_type": ("不支持的令牌申请方式", "unsupported grant type"),
    "audit.reason.untrusted_issuer": ("令牌签发方不受信任", "untrusted issuer"),
    "audit.reason.write": ("写入（变更记录）", "write (a change)"),
    "audit.reason.wrong_audience": ("令牌的接收方不符", "wrong token audience"),
    "audit.reason.wrong_issuer": ("令牌签发方不符", "wrong token issuer"),
    "audit.reason.wrong_typ": ("令牌类型不符", "wrong token type"),
    # ---- identities -------------------------------------------------------------------------------------
    "identity.division_digits": (
        "行政区划代码 {code} 不是 12 位数字（如 500101000000）",
        "division code {code} is not 12 digits (e.g. 500101000000)",
    ),
    "identity.division_province": (
        "行政区划代码 {code} 不以省级代码开头",
        "division code {code} does not start with a province code",
    ),
    "identity.division_levels": (
        "行政区划代码 {code} 在为零的层级之下还有下级",
        "division code {code} has a level below a zero level",
    ),
    "identity.agency_type": (
        "未知的单位类型 {type}；可用类型：{known}",
        "unknown agency type {type}; expected one of: {known}",
    ),
    "identity.scope_required": ("至少需要一个权限范围", "at least one scope is required"),
    "identity.scope_invalid": (
        "权限范围 {scope} 不是有效的 OAuth 范围",
        "scope {scope} is not a valid OAuth scope token",
    ),
    "identity.printable": (
        "{what}须为 1–{limit} 个可打印字符",
        "{what} must be 1-{limit} printable characters",
    ),
    "identity.agency_id": (
        "单位编号 {id} 须为 2–48 个小写字母、数字或连字符（如 edu-500101）",
        "agency id {id} must be 2-48 characters of a-z, 0-9 and '-' (e.g. edu-500101)",
    ),
    "identity.institution": (
        "机构代码 {code} 须为 1–64 个字母、数字或 . _ - 字符",
        "institution code {code} must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'",
    ),
    "identity.agency_exists": ("单位 {id} 已存在", "agency {id} already exists"),
    "identity.role": (
        "角色 {role} 须为小写标识符（如 caseworker）",
        "role {role} must be a lower-case identifier (e.g. caseworker)",
    ),
    "identity.unknown_agency": ("没有单位 {id}", "unknown agency {id}"),
    "identity.unknown_client": ("没有客户端 {id}", "unknown client {id}"),
    "identity.client_is_disabled": ("客户端 {id} 已停用", "client {id} is disabled"),
    "keys.grace_negative": ("宽限期不能为负数", "grace period must not be negative"),
    "keys.unknown": ("没有编号为 {kid} 的签名密钥", "no signing key with kid {kid}"),
    "keys.none_active": ("没有启用中的签名密钥", "no active signing key"),
    "keys.cannot_load": (
        "签名密钥 {kid} 无法载入：请检查 SHOUHU_SIGNING_KEY_PASSPHRASE",
        "signing key {kid} cannot be loaded: check SHOUHU_SIGNING_KEY_PASSPHRASE",
    ),
    "identity.agency_added": (
        "已添加单位 {id}（{type}，{jurisdiction}）",
        "agency {id} added ({type}, {jurisdiction})",
    ),
    "identity.secret_once": (
        "请立即保存密钥：系统只保存其摘要，之后无法再次显示",
        "store the secret now: it is kept only as a hash and cannot be shown again",
    ),
    "identity.grace_short": (
        "警告：宽限期短于令牌有效期，旧密钥签发的令牌会在到期前失效",
        "warning: the grace period is shorter than the token lifetime; tokens signed by the previous "
        "key will stop validating before they expire",
    ),
    "identity.client_disabled": ("已停用客户端 {id}", "client {id} disabled"),
    "identity.client_enabled": ("启用", "enabled"),
    "identity.client_off": ("停用", "disabled"),
    "identity.key_rotated": (
        "当前签名密钥 {kid}（{alg}）；旧密钥在 {grace} 秒后停用",
        "active signing key {kid} ({alg}); previous keys retire in {grace} s",
    ),
    "identity.key_row": (
        "{kid}\t{alg}\t启用于 {activated}\t停用于 {retired}",
        "{kid}\t{alg}\tactivated {activated}\tretires {retired}",
    ),
    "identity.key_retired": ("已停用签名密钥 {kid}", "signing key {kid} retired"),
    # ---- demo, webhooks, cases, reports -------------------------------------------------------------
    "demo.banner": (
        "演示单位（合成数据）。工作台：{url} — 用下列客户端编号和密钥登录；"
        "单位系统调用接口时带上请求头 Authorization: Bearer <令牌>。",
        "Demo agencies (synthetic data). Console: {url} — sign in with a client id and secret below; "
        "agency systems send 'Authorization: Bearer <token>'.",
    ),
    "demo.purpose": (
        "调用接口时用请求头 X-Purpose-Of-Use 声明用途：case_work（个案办理），"
        "或 screening（摸底排查）、audit（审计）等。",
        "Declare a purpose of use with the header X-Purpose-Of-Use: case_work (or screening, audit …).",
    ),
    "demo.written": ("已写入 {path}", "written to {path}"),
    "demo.chain.not_demo": (
        "{path} 不是演示数据目录（没有 shouhu demo identities 建立的演示机构）：demo chain "
        "只为演示县代报，不在其他数据目录写报表",
        "{path} is not a demo data directory (no demo agencies made by shouhu demo identities): "
        "demo chain reports only for the demo county and writes no report elsewhere",
    ),
    "demo.chain.done": (
        "{period}：演示县其他 {villages} 个村和 {townships} 个乡镇的报表已代为上报（合成数据）；"
        "请用演示身份完成：{village} 上报 → {township} 审核并上报 → 县民政审核并上报。",
        "{period}: the demo county's other {villages} villages and {townships} townships have "
        "reported (synthetic); with the demo sign-ins: {village} submits → {township} approves and "
        "submits → the county approves and submits.",
    ),
    "webhooks.delivered": ("已投递 {n} 条", "{n} delivered"),
    "webhooks.requeued": ("已重新排队 {n} 条", "{n} queued again"),
    "webhooks.title": ("推送记录", "webhook deliveries"),
    "webhooks.col.id": ("编号", "id"),
    "webhooks.col.created": ("创建时间（北京时间）", "created (Beijing time)"),
    "webhooks.col.event": ("事件", "event"),
    "webhooks.col.status": ("状态", "status"),
    "webhooks.col.attempts": ("尝试次数", "attempts"),
    "webhooks.col.error": ("最近错误", "last error"),
    "cases.projected": (
        "已将 {n} 个个案、{agreements} 份监护协议写入图数据库",
        "{n} cases and {agreements} guardianship agreements projected",
    ),
    "report.bad_out": (
        "--out 须以 .xlsx 或 .csv 结尾，而不是 {name}",
        "--out must end in .xlsx or .csv, not {name}",
    ),
    "report.wrong_kind": (
        "报告期 {period} 是{actual}，不是{expected}",
        "period {period} is {actual}, not {expected}",
    ),
    "report.kind.quarter": ("季度", "quarter"),
    "report.kind.year": ("年度", "year"),
    "report.kind.quarterly": ("季度", "quarterly"),
    "report.kind.annual": ("年度", "annual"),
    "report.classifying": ("分类（人）", "classifying (people)"),
    "report.noun": ("报告", " report"),
    "report.deadline": ("截止日期 {deadline}", "deadline {deadline}"),
    "report.status.draft": ("草稿（实时数据）", "draft (live figures)"),
    "report.status.submitted": ("已上报", "submitted"),
    "report.status.approved": ("已审核通过", "approved"),
    "report.status.returned": ("已退回", "returned"),
    "report.written": (
        "{division} {period} {kind}报告：儿童 {children} 名，留守儿童 {left_behind} 名，"
        "困境儿童 {in_distress} 名；状态：{status}，截止日期 {deadline} → {path}",
        "{kind} report {division} {period}: {children} children, {left_behind} left-behind, {in_distress} "
        "in distress; status {status}, deadline {deadline} → {path}",
    ),
    "report.classified": (
        "已分类 {children} 名儿童，用时 {seconds} 秒（每秒 {rate} 名），移除 {removed} 条",
        "{children} children classified in {seconds} s ({rate}/s), {removed} removed",
    ),
    "schema.written": (
        "已写出 GraphQL 模式（SDL）：{path}（{lines} 行）",
        "GraphQL schema (SDL) written: {path} ({lines} lines)",
    ),
    # ---- the CLI's help (shouhu/cli: help=say("cli.help.<command path>[.<option>]")); typer shows
    # it for `shouhu <command> --help`, and tests/test_messages.py holds every command and option to it ----
    "cli.help.shouhu": ("守护：儿童保护数据平台", "守护 Shouhu: child-protection data platform"),
    "cli.help.init": (
        "创建两个库：图数据库结构和关系库表（可重复运行）。",
        "Create both stores: the graph schema and the relational tables (idempotent).",
    ),
    "cli.help.serve": (
        "运行服务：接口、各来源的定时同步、派生数据队列、通知待发箱，"
        "以及服务运行期间其他命令所经由的运维通道。",
        "Run the service: the API, the connector schedules, the derived-state queue, the webhook outbox "
        "and the operator socket that the other commands go through while it runs.",
    ),
    "cli.help.serve.host": (
        "绑定地址（默认取 SHOUHU_HOST，即 127.0.0.1）。",
        "Bind address (default SHOUHU_HOST, 127.0.0.1).",
    ),
    "cli.help.serve.port": ("端口（默认取 SHOUHU_PORT，即 8000）。", "Port (default SHOUHU_PORT, 8000)."),
    "cli.help.graph": ("儿童、家庭与个案的关联图。", "The linked graph of children, families and cases."),
    "cli.help.graph.stats": (
        "按类别统计节点数，按类型统计关系数。",
        "Count nodes by kind and relationships by type.",
    ),
    "cli.help.graph.stats.as_json": ("以 JSON 输出，而不是表格。", "Print JSON instead of a table."),
    "cli.help.graph.verify": (
        "将图与关系库中应有的内容核对；有差异时退出码为 1。",
        "Compare the graph with what the relational store says it should hold; exit 1 on a difference.",
    ),
    "cli.help.graph.verify.as_json": ("以 JSON 输出核对结果。", "Print the comparison as JSON."),
    "cli.help.graph.verify.first": ("每个类别列出的差异条数。", "Differences listed per kind."),
    "cli.help.graph.rebuild": (
        "从关系库把图重建到新文件，再原子地替换旧图。",
        "Rebuild the graph from the relational store into a new file and swap it in atomically.",
    ),
    "cli.help.graph.rebuild.as_json": ("以 JSON 输出结果。", "Print the result as JSON."),
    "cli.help.graph.rebuild.keep_old": (
        "保留被替换的旧图文件（移到一旁）。",
        "Keep the replaced graph file (set aside).",
    ),
    "cli.help.audit": (
        "审计日志：校验哈希链，导出条目。",
        "The audit log: verify the hash chain, export entries.",
    ),
    "cli.help.audit.verify": (
        "校验整条哈希链；完整时退出码为 0，遇到第一条断开的条目时为 1。\n\n输出“链完整：N "
        "条”，日志不为空时另输出一行“链头：SEQ:HASH”，请在数据库之外公布保存，以后校验时用 --anchor 传回。",
        "Walk the whole hash chain; exit 0 if intact, 1 at the first broken entry.\n\nPrints `chain "
        "intact: N entries` and, for a non-empty log, a `head: SEQ:HASH` line to publish outside the "
        "database and pass back later as `--anchor`.",
    ),
    "cli.help.audit.verify.batch": (
        "每次查询读取的条目数（内存占用不变）。",
        "Entries read per query (memory stays constant).",
    ),
    "cli.help.audit.verify.anchor": (
        "之前公布的 SEQ:HASH（“链头”一行）；可发现截断和改写。",
        "SEQ:HASH published earlier (the 'head' line); catches truncation and rewrites.",
    ),
    "cli.help.audit.export": (
        "按序号导出条目及其哈希（不加筛选的导出可以重新校验）。",
        "Stream entries in seq order, with their hashes (an unfiltered export can be re-verified).",
    ),
    "cli.help.audit.export.fmt": ("jsonl 或 csv。", "jsonl or csv."),
    "cli.help.audit.export.since": (
        "此时间及之后的条目（带时区的 ISO-8601）。",
        "Entries at or after this time (ISO-8601 with offset).",
    ),
    "cli.help.audit.export.until": (
        "此时间之前的条目（带时区的 ISO-8601）。",
        "Entries before this time (ISO-8601 with offset).",
    ),
    "cli.help.audit.export.agency": ("只导出该单位的条目。", "Only this agency's entries."),
    "cli.help.audit.export.out": ("写入此文件，而不是标准输出。", "Write here instead of standard output."),
    "cli.help.demo": ("合成演示县及演示身份。", "A synthetic demo county and demo identities."),
    "cli.help.demo.identities": (
        "创建演示单位和客户端（只建一次），并为每个客户端打印控制台登录信息（客户端编号和密钥）"
        "以及供各单位系统使用的新令牌。\n\n客户端密钥只以哈希保存、无法再次显示，"
        "因此演示把自己合成客户端的密钥保存在数据目录中仅属主可读的文件里（从不放入代码库）；"
        "密钥不在其中的演示客户端会被替换为新的。",
        "Create the demo agencies and clients (once) and print, for each, the console sign-in (client id "
        "and secret) and a fresh token for agency systems.\n\nA client secret is stored hashed and cannot "
        "be shown again, so the demo keeps the secrets of its own synthetic clients in an owner-only file "
        "of the data directory (never in the repo); a demo client whose secret is not there is replaced by "
        "a new one.",
    ),
    "cli.help.demo.chain": (
        "代演示县其他村、乡镇上报本期报表（县级报表须等下级全部上报），使演示身份能把 村 → 乡镇 → 县 "
        "走完：演示村上报，演示乡镇审核后上报，县级主管审核后上报。可重复运行；只用合成数据。"
        "\n\n这些报表没有单位签署，因此数据目录须已由 shouhu demo identities "
        "建成演示目录，否则拒绝执行；写入的每份报表都以演示名义记入审计日志（操作 demo.chain，用户 "
        "demo-synthetic）。",
        "Hand up the periodic reports of every other village and township of the demo county (a county "
        "report waits for every division below), so that the demo sign-ins can take the chain through: the "
        "demo village submits, the demo township approves it and submits, the county's supervisor approves "
        "and submits. Idempotent; synthetic data only.\n\nNo agency signs these reports, so the command "
        "refuses a data directory that `shouhu demo identities` has not made a demo one, and every report "
        "it writes is on the audit log as the demo's (operation demo.chain, user demo-synthetic).",
    ),
    "cli.help.demo.chain.period": (
        "报表期（如 2026-Q4 或 2026；默认本季度）。",
        "Report period (2026-Q4 or 2026; default this quarter).",
    ),
    "cli.help.demo.generate": (
        "按各来源系统自己的格式写出一个合成县，并附真实答案。",
        "Write a synthetic county in each source system's own format, with its ground truth.",
    ),
    "cli.help.demo.generate.persons": ("合成县的人数。", "People in the synthetic county."),
    "cli.help.demo.generate.seed": (
        "生成种子：同一种子生成同一个县。",
        "Generator seed: the same seed gives the same county.",
    ),
    "cli.help.demo.generate.out": (
        "输出目录（默认：<数据目录>/demo-sources）。",
        "Output folder (default: <data dir>/demo-sources).",
    ),
    "cli.help.demo.generate.noise_scale": (
        "把各项默认噪声比例（错字、缺号、重复等）都乘以此倍数（0 表示无噪声，比例最高为 1）。",
        "Multiply every default noise rate (typos, missing IDs, duplicates…) by this factor (0 = no noise; "
        "a rate is capped at 1).",
    ),
    "cli.help.token": (
        "直接为客户端签发访问令牌（运维或演示用；需能访问数据库，无需密钥）。",
        "Mint an access token for a client directly (operator/demo use; needs database access, no secret).",
    ),
    "cli.help.token.client_id": ("为哪个客户端签发令牌。", "Client to mint the token for."),
    "cli.help.token.scope": ("收窄到这些权限范围（以空格分隔）。", "Narrow to these space-separated scopes."),
    "cli.help.token.as_json": ("以 JSON 输出令牌响应。", "Print the token response as JSON."),
    "cli.help.agency": ("成员单位（联席会议成员单位）。", "Member agencies (联席会议成员单位)."),
    "cli.help.agency.add": ("登记一个成员单位。", "Register a member agency."),
    "cli.help.agency.add.agency_id": (
        "单位编号，小写字母、数字加连字符，如 edu-500101。",
        "Agency id, a lower-case slug such as edu-500101.",
    ),
    "cli.help.agency.add.name": (
        "正式名称，如 重庆市万州区教育委员会。",
        "Official name, e.g. 重庆市万州区教育委员会.",
    ),
    "cli.help.agency.add.agency_type": (
        "成员单位类型，如 education、civil_affairs。",
        "Member-unit type, e.g. education, civil_affairs.",
    ),
    "cli.help.agency.add.jurisdiction": ("所辖行政区划的 12 位代码。", "12-digit division code it serves."),
    "cli.help.agency.add.institutions": (
        "该单位本身所对应的学校或医疗机构代码（可重复）。",
        "Code of a school/facility this agency is (repeatable).",
    ),
    "cli.help.agency.list": ("列出成员单位。", "List member agencies."),
    "cli.help.agency.list.as_json": ("以 JSON 行输出。", "Print JSON lines."),
    "cli.help.client": (
        "各单位的 OAuth2 客户端（客户端凭证）。",
        "OAuth2 clients of agencies (client credentials).",
    ),
    "cli.help.client.add": (
        "登记客户端并打印其编号和密钥。密钥只显示这一次。",
        "Register a client and print its id and secret. The secret is shown this once only.",
    ),
    "cli.help.client.add.agency": ("客户端所属单位的编号。", "Id of the agency the client belongs to."),
    "cli.help.client.add.role": (
        "策略中定义的角色，如 caseworker、registrar。",
        "Role the policy knows, e.g. caseworker, registrar.",
    ),
    "cli.help.client.add.scopes": (
        "客户端可申请的 OAuth 权限范围，以空格分隔。",
        "Space-separated OAuth scopes the client may request.",
    ),
    "cli.help.client.add.name": (
        "客户端是什么系统，如 学籍管理系统。",
        "What the client is, e.g. 学籍管理系统.",
    ),
    "cli.help.client.list": ("列出客户端（从不显示密钥）。", "List clients (never their secrets)."),
    "cli.help.client.list.agency": ("只列出该单位的客户端。", "Only this agency's clients."),
    "cli.help.client.disable": (
        "停止某客户端获取令牌（其已持有的令牌在有效期内自然过期）。",
        "Stop a client from obtaining tokens (tokens it holds expire within the token lifetime).",
    ),
    "cli.help.client.disable.client_id": ("要停用的客户端。", "The client to disable."),
    "cli.help.keys": ("令牌签名密钥。", "Token-signing keys."),
    "cli.help.keys.rotate": (
        "启用新的签名密钥；旧密钥在宽限期后停用。",
        "Activate a new signing key; the previous one retires after the grace period.",
    ),
    "cli.help.keys.rotate.grace_seconds": (
        "旧密钥继续可用于校验的时长（默认取配置）。",
        "How long the previous key keeps verifying (default from settings).",
    ),
    "cli.help.keys.list": (
        "列出签名密钥：编号、算法、启用和停用时间（从不显示密钥内容）。",
        "List signing keys: kid, algorithm, activation and retirement (never key material).",
    ),
    "cli.help.keys.retire": (
        "立即停用某密钥（怀疑泄露时）：其签发的令牌立即失效。",
        "Retire a key at once (suspected compromise): its tokens stop validating immediately.",
    ),
    "cli.help.keys.retire.kid": (
        "要立即停用的密钥编号（按 keys list 打印的原样输入，以“-”开头的也可以）。",
        "Key id to retire now (as `keys list` printed it, one beginning with '-' too).",
    ),
    "cli.help.sync": (
        "接收、校验、匹配来源记录并写入图，然后输出报告。\n\n数据目录上正在运行 shouhu serve "
        "时，同步在服务中进行（图由服务持有）：本命令让服务开始同步，并跟踪进度直到结束。",
        "Land, validate, resolve and load source records into the graph, then report.\n\nWhile `shouhu "
        "serve` runs on the data directory the sync runs in the service (which owns the graph); this "
        "command starts it there and follows its progress until it ends.",
    ),
    "cli.help.sync.sources": (
        "要同步的来源（默认：所有已配置的来源）。",
        "Sources to sync (default: every configured one).",
    ),
    "cli.help.sync.from_dir": (
        "一个县的导出目录，内含 reference / police / education / health / survey 子目录。",
        "A county export: DIR with reference, police, education, health, survey.",
    ),
    "cli.help.sync.as_json": ("以 JSON 输出运行报告。", "Print the run report as JSON."),
    "cli.help.sync.watch": (
        "持续运行：每个来源按其 every 间隔同步。",
        "Keep running: sync each source on its `every`.",
    ),
    "cli.help.sync.max_cycles": (
        "与 --watch 同用：运行 N 轮后停止（0 表示不停）。",
        "With --watch: stop after N cycles (0 = never).",
    ),
    "cli.help.sync.batch_size": ("每批写入图的记录数。", "Records per graph upsert batch."),
    "cli.help.crosscheck": (
        "各来源不一致之处：缺失的儿童、适龄未入学儿童、相互矛盾的属性。",
        "Where the sources disagree: missing children, school-age children not enrolled, conflicts.",
    ),
    "cli.help.crosscheck.as_of": (
        "计算年龄所依据的日期（YYYY-MM-DD；默认今天）。",
        "The day ages are taken on (YYYY-MM-DD; default today).",
    ),
    "cli.help.crosscheck.division": (
        "只核对此行政区划代码前缀（如 500248101）。",
        "Only this division code prefix (e.g. 500248101).",
    ),
    "cli.help.crosscheck.examples": ("每项发现列出的示例人员编号数。", "Example person ids per finding."),
    "cli.help.crosscheck.as_json": ("以 JSON 输出。", "Print JSON."),
    "cli.help.runs": (
        "已保存的运行报告，最新的在前：每次运行每个来源一行。",
        "Stored run reports, newest first: one row per run and source.",
    ),
    "cli.help.runs.limit": ("列出最近几次运行。", "Most recent runs."),
    "cli.help.runs.as_json": ("以 JSON 行输出保存的报告。", "Print the stored reports as JSON lines."),
    "cli.help.quarantine": (
        "未通过校验的记录及其重放。",
        "Records that failed validation, and their replay.",
    ),
    "cli.help.quarantine.list": (
        "被隔离的记录及原因，按接收先后排列，并按原因计数。",
        "Quarantined records with their reasons, oldest first, and the count by reason.",
    ),
    "cli.help.quarantine.list.source": ("只看此来源。", "Only this source."),
    "cli.help.quarantine.list.reason": (
        "只看此原因代码（以“.”结尾的前缀匹配一类原因）。",
        "Only this reason code (a prefix ending in '.' matches a family).",
    ),
    "cli.help.quarantine.list.limit": ("最多列出的行数（0 表示全部）。", "At most this many rows (0 = all)."),
    "cli.help.quarantine.list.as_json": ("以 JSON 行输出。", "Print JSON lines."),
    "cli.help.quarantine.show": (
        "一条接收记录：原因及收到时的原始内容。",
        "One landed record: its reason and the raw payload as received.",
    ),
    "cli.help.quarantine.show.seq": ("接收序号（见 list）。", "The landing sequence number (from `list`)."),
    "cli.help.quarantine.replay": (
        "用保存的原始内容重新校验被隔离的记录；现在能通过的即入库。",
        "Re-validate quarantined records from their stored payload; load what passes now.",
    ),
    "cli.help.quarantine.replay.source": ("只重放此来源。", "Only this source."),
    "cli.help.quarantine.replay.reason": (
        "只重放此原因代码（以“.”结尾的前缀匹配一类原因）。",
        "Only this reason code (a prefix ending in '.' matches a family).",
    ),
    "cli.help.quarantine.replay.record_id": ("只重放这些记录编号。", "Only these record ids."),
    "cli.help.quarantine.replay.as_json": ("以 JSON 输出运行报告。", "Print the run report as JSON."),
    "cli.help.quarantine.dismiss": (
        "撤销被隔离的条目（包括整个文件 file:<文件名>），并记下由谁、为何撤销。",
        "Take quarantined entries off the list (a whole file too: ``file:<name>``), with who and why.",
    ),
    "cli.help.quarantine.dismiss.seqs": ("接收序号（见 list）。", "Landing sequence numbers (from `list`)."),
    "cli.help.quarantine.dismiss.reason": ("撤销原因（与决定一并保存）。", "Why (kept with the decision)."),
    "cli.help.quarantine.dismiss.by": (
        "由谁决定（默认：登录名）。",
        "Who decides (default: the login name).",
    ),
    "cli.help.webhooks": ("向各单位系统推送的签名通知。", "Signed webhook deliveries to agency systems."),
    "cli.help.webhooks.deliver": (
        "立即投递所有到期的通知（接口服务的后台任务每隔几秒也会这样做）。",
        "Deliver every webhook that is due now (what the API's worker does every few seconds).",
    ),
    "cli.help.webhooks.list": ("待发通知箱，最新的在前。", "The outbox, newest first."),
    "cli.help.webhooks.list.agency": ("只看该单位的订阅。", "Only this agency's subscriptions."),
    "cli.help.webhooks.list.status": (
        "pending（待投递）| delivered（已投递）| failed（失败）",
        "pending | delivered | failed",
    ),
    "cli.help.webhooks.retry": (
        "把失败的通知重新排队（接收方修好之后）。",
        "Queue failed deliveries again (after the receiver is fixed).",
    ),
    "cli.help.webhooks.retry.agency": ("只重发该单位的通知。", "Only this agency's deliveries."),
    "cli.help.cases": ("保护个案：写入图。", "Protection cases: graph projection."),
    "cli.help.cases.reproject": (
        "把图中版本落后的个案和监护协议重新写入图（可重复运行）。",
        "Write every case and guardianship agreement whose graph copy is behind into the graph (idempotent).",
    ),
    "cli.help.report": (
        "定期报告（村 → 乡镇 → 县）与分类。",
        "Periodic reports (村 → 乡镇 → 县) and classification.",
    ),
    "cli.help.report.quarterly": (
        "某行政区划的季度报告：按下级区划和类别汇总。",
        "A quarterly report (季度报告) of a division: roll-up by sub-division and category.",
    ),
    "cli.help.report.quarterly.division": (
        "村、乡镇或县的 12 位代码。",
        "12-digit code of a village, township or county.",
    ),
    "cli.help.report.quarterly.period": (
        "YYYY-Qn（默认：本季度）。",
        "YYYY-Qn (default: the current quarter).",
    ),
    "cli.help.report.quarterly.out": ("输出文件，.xlsx 或 .csv。", "Output file, .xlsx or .csv."),
    "cli.help.report.annual": (
        "年度报告；县级年度报告须在 12 月 10 日前报送。",
        "An annual report (年度报告); the county's is due by 10 December.",
    ),
    "cli.help.report.annual.division": (
        "村、乡镇或县的 12 位代码。",
        "12-digit code of a village, township or county.",
    ),
    "cli.help.report.annual.period": ("YYYY（默认：今年）。", "YYYY (default: this year)."),
    "cli.help.report.annual.out": ("输出文件，.xlsx 或 .csv。", "Output file, .xlsx or .csv."),
    "cli.help.report.classify": (
        "立即依据图重新分类和筛查儿童，并生成统计快照。",
        "Reclassify and rescreen children from the graph now, and take a statistics snapshot.",
    ),
    "cli.help.report.classify.division": (
        "只处理此行政区划（默认：图中所有县）。",
        "Only this division (default: every county in the graph).",
    ),
    "cli.help.schema": (
        "供各单位开发人员使用的 GraphQL 模式（SDL）。",
        "The GraphQL schema (SDL) for agency developers.",
    ),
    "cli.help.schema.export": (
        "把模式的 SDL 写入文件或直接打印。",
        "Write the schema's SDL to a file, or print it.",
    ),
    "cli.help.schema.export.out": ("写入此文件（默认：直接打印）。", "Write to this file (default: print)."),
}

_FORMATTER = string.Formatter()


def language() -> str:
    """The language of this process (``SHOUHU_LANGUAGE``, Chinese unless set to ``en``). Read on its
    own when the settings do not parse, so that what is wrong with them can be said."""
    try:
        return get_settings().language
    except (ValidationError, SettingsError):
        return "en" if os.environ.get("SHOUHU_LANGUAGE", "").strip() == "en" else "zh-CN"


# pydantic's error types, as the rule a setting broke (the value itself is never repeated: it may be a key)
_SETTING_RULES = {
    "greater_than": ("settings.rule.gt", "gt"),
    "greater_than_equal": ("settings.rule.ge", "ge"),
    "less_than": ("settings.rule.lt", "lt"),
    "less_than_equal": ("settings.rule.le", "le"),
    "int_parsing": ("settings.rule.int", None),
    "int_from_float": ("settings.rule.int", None),
    "float_parsing": ("settings.rule.number", None),
    "bool_parsing": ("settings.rule.bool", None),
    "literal_error": ("settings.rule.one_of", "expected"),
    "lease_too_short": ("settings.rule.lease", None),
}


def settings_problems(exc: ValidationError | SettingsError) -> str:
    """Each setting ``exc`` refused, by its variable and the rule it broke, in one line."""
    out = []
    if isinstance(exc, SettingsError):  # a list or table setting that is not JSON (names its field)
        found = re.search(r'field "([a-z0-9_]+)"', str(exc))
        var = f"SHOUHU_{found.group(1).upper()}" if found else "SHOUHU_*"
        out.append(say("settings.problem", var=var, rule=say("settings.rule.json")))
    for err in exc.errors() if isinstance(exc, ValidationError) else ():
        loc = err.get("loc") or ()
        var = f"SHOUHU_{str(loc[0]).upper()}" if loc else str((err.get("ctx") or {}).get("var", "SHOUHU_*"))
        key, ctx_name = _SETTING_RULES.get(err["type"], ("settings.rule.invalid", None))
        value = (err.get("ctx") or {}).get(ctx_name) if ctx_name else None
        if isinstance(value, float):
            value = f"{value:g}"
        out.append(say("settings.problem", var=var, rule=say(key, value=value) if ctx_name else say(key)))
    return say("settings.invalid", problems="；".join(out) if language() != "en" else "; ".join(out))


def say(key: str, /, **values: object) -> str:
    """The message ``key`` in this process's language, filled in. An unknown key is a programming
    error and raises ``KeyError`` (the catalogue test finds every key the code uses)."""
    zh, en = MESSAGES[key]
    template = en if language() == "en" else zh
    return template.format(**values) if values else template


def placeholders(template: str) -> set[str]:
    """The names a template fills in (for the catalogue's own test)."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


def number(n: int | float) -> str:
    """Thousands separated, the way both languages print counts in this project."""
    return f"{n:,.1f}" if isinstance(n, float) else f"{n:,}"


def source_name(code: str) -> str:
    """A source system's name for an official (``education`` → 教育学籍); an unknown code as it is."""
    key = f"source.{code}"
    return say(key) if key in MESSAGES else code


def attribute_name(code: str) -> str:
    """A person attribute's name for an official (``birth_date`` → 出生日期); an unknown one as it is."""
    key = f"attribute.{code}"
    return say(key) if key in MESSAGES else code


def reason_name(code: str | None) -> str:
    """A quarantine or warning reason for an official (``field.missing`` → 必填项为空)."""
    key = f"reason.{code}"
    return say(key) if key in MESSAGES else (code or "")


def audit_reason_name(code: str | None) -> str:
    """A reason on an audit entry for an auditor (``write`` → 写入（变更记录）); an unknown code (an
    entry written by a newer version) as it is, for the auditor to look up."""
    key = f"audit.reason.{code}"
    return say(key) if key in MESSAGES else (code or "")


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_problem(exc: Exception) -> str:
    """What is wrong with a TOML file an operator wrote, in the catalogue's words: where the parser
    stopped (tomllib says it in English, "Expected ']' … (at line 2, column 9)"), or that the file is
    not UTF-8. One helper for every file the platform reads (connectors, policy, screening rules)."""
    if isinstance(exc, UnicodeDecodeError):
        return say("config.not_utf8")
    found = _TOML_AT.search(str(exc))
    if found is None:
        return say("config.toml_unplaced")
    return say("config.toml_syntax", line=found[1], column=found[2])
