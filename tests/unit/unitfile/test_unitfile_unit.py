"""[Unit], [Install], raw sections, drop-in order and the never-raise contract."""

from hypothesis import given, settings
from hypothesis import strategies as st

from guestinit.unitfile import (
    Condition,
    Origin,
    ParseResult,
    Severity,
    UnitAction,
    UnitKind,
    UnitSource,
    UnitSpec,
    parse_unit,
    parse_unit_text,
)


def spec_of(text: str, name: str = "t.service") -> UnitSpec:
    parsed = parse_unit_text(text, name, "/u/" + name)
    assert parsed.spec is not None, parsed.diagnostics
    return parsed.spec


SVC = "\n[Service]\nExecStart=/bin/true\n"


def test_dependencies_accumulate_and_empty_does_not_reset() -> None:
    spec = spec_of(
        "[Unit]\nDescription=Demo %n\nAfter=a.service b.target\nAfter=\nAfter=c.socket\n"
        "Requires=r.service\nRequisite=q.service\nWants=w.service\nBindsTo=b.service\n"
        "PartOf=p.target\nConflicts=shutdown.target\nBefore=z.target\nUpholds=u.service\n"
        "OnFailure=f.service\nOnSuccess=s.service\nRequiresMountsFor=/var/log /srv" + SVC
    )
    assert spec.description == "Demo t.service"
    assert spec.after == ("a.service", "b.target", "c.socket")
    assert spec.requires == ("r.service",)
    assert spec.requisite == ("q.service",)
    assert spec.wants == ("w.service",)
    assert spec.binds_to == ("b.service",)
    assert spec.part_of == ("p.target",)
    assert spec.conflicts == ("shutdown.target",)
    assert spec.before == ("z.target",)
    assert spec.upholds == ("u.service",)
    assert spec.on_failure == ("f.service",)
    assert spec.on_success == ("s.service",)
    assert spec.requires_mounts_for == ("/var/log", "/srv")


def test_escaped_unit_names_stay_escaped() -> None:
    spec = spec_of("[Unit]\nAfter=dev-disk-by\\x2duuid-1.device" + SVC)
    assert spec.after == ("dev-disk-by\\x2duuid-1.device",)


def test_invalid_dependency_word_is_dropped_with_warning() -> None:
    parsed = parse_unit_text("[Unit]\nWants=good.service nosuffix" + SVC, "t.service")
    assert parsed.spec is not None and parsed.spec.wants == ("good.service",)
    assert [d.line for d in parsed.diagnostics] == [2]


def test_documentation_resets_and_checks_schemes() -> None:
    spec = spec_of(
        "[Unit]\nDocumentation=man:a(8)\nDocumentation=\n"
        "Documentation=https://x.org/ man:b(5) nonsense" + SVC
    )
    assert spec.documentation == ("https://x.org/", "man:b(5)")


def test_conditions_and_asserts() -> None:
    spec = spec_of(
        "[Unit]\nConditionPathExists=!/etc/nope\nConditionPathExists=|/a\n"
        "ConditionVirtualization=|!container\nAssertPathIsDirectory=/srv\n"
        "ConditionHost=%H" + SVC
    )
    assert [(c.kind, c.negate, c.trigger, c.value) for c in spec.conditions] == [
        ("PathExists", True, False, "/etc/nope"),
        ("PathExists", False, True, "/a"),
        ("Virtualization", True, True, "container"),
        ("Host", False, False, "localhost"),
    ]
    assert spec.conditions[0].at == Origin("/u/t.service", 2)
    assert spec.asserts == (
        Condition("PathIsDirectory", False, False, "/srv", Origin("/u/t.service", 5)),
    )


def test_empty_condition_resets_all_conditions_but_not_asserts() -> None:
    spec = spec_of(
        "[Unit]\nConditionPathExists=/a\nAssertPathExists=/b\nConditionHost=\n"
        "ConditionACPower=true" + SVC
    )
    assert [c.kind for c in spec.conditions] == ["ACPower"]
    assert [c.kind for c in spec.asserts] == ["PathExists"]


def test_relative_path_condition_is_ignored() -> None:
    parsed = parse_unit_text("[Unit]\nConditionPathExists=relative" + SVC, "t.service")
    assert parsed.spec is not None and parsed.spec.conditions == ()
    assert parsed.diagnostics[0].severity is Severity.WARNING


def test_unit_scalars() -> None:
    spec = spec_of(
        "[Unit]\nDefaultDependencies=no\nStartLimitIntervalSec=1min\nStartLimitBurst=3\n"
        "FailureAction=exit\nSuccessAction=exit-force\nFailureActionExitStatus=3\n"
        "StartLimitAction=reboot\nStopWhenUnneeded=yes\nRefuseManualStop=true\nJobTimeoutSec=0"
        + SVC
    )
    assert not spec.default_dependencies
    assert (spec.start_limit_interval, spec.start_limit_burst) == (60.0, 3)
    assert spec.failure_action is UnitAction.EXIT
    assert spec.success_action is UnitAction.EXIT_FORCE
    assert spec.failure_action_exit_status == 3
    assert spec.start_limit_action is UnitAction.REBOOT
    assert spec.stop_when_unneeded and spec.refuse_manual_stop and not spec.refuse_manual_start


def test_install_section() -> None:
    spec = spec_of(
        SVC + "[Install]\nWantedBy=multi-user.target\nWantedBy=\nWantedBy=default.target\n"
        "RequiredBy=x.target\nAlias=alias.service\nAlso=other.socket\nDefaultInstance=one"
    )
    assert spec.install.wanted_by == ("default.target",)
    assert spec.install.required_by == ("x.target",)
    assert spec.install.alias == ("alias.service",)
    assert spec.install.also == ("other.socket",)
    assert spec.install.default_instance == "one"


def test_timer_and_socket_sections_are_raw_and_quiet() -> None:
    parsed = parse_unit_text(
        "[Unit]\nDescription=t\n[Timer]\nOnCalendar=daily\nOnCalendar=weekly\nPersistent=true\n",
        "t.timer",
    )
    assert parsed.spec is not None and not parsed.diagnostics
    assert parsed.spec.kind is UnitKind.TIMER and parsed.spec.service is None
    timer = parsed.spec.raw["Timer"]
    assert [v.value for v in timer["OnCalendar"]] == ["daily", "weekly"]
    assert timer["Persistent"][0].at.line == 6
    parsed = parse_unit_text("[Socket]\nListenStream=22\nAccept=no\n", "t.socket")
    assert parsed.spec is not None and not parsed.diagnostics
    assert parsed.spec.raw["Socket"]["ListenStream"][0].value == "22"


def test_sections_of_the_wrong_unit_type_are_unknown() -> None:
    parsed = parse_unit_text("[Unit]\n[Timer]\nOnCalendar=daily\n[Bogus]\nA=1\n", "t.target")
    assert parsed.spec is not None
    assert [(d.line, d.severity) for d in parsed.diagnostics] == [
        (2, Severity.WARNING),
        (4, Severity.WARNING),
    ]
    assert "Timer" not in parsed.spec.raw


def test_x_sections_and_keys_are_kept_without_warnings() -> None:
    parsed = parse_unit_text("[Unit]\nX-Owner=ops\n[X-Health]\nCheck=/bin/hc\n" + SVC, "t.service")
    assert parsed.spec is not None and not parsed.diagnostics
    assert parsed.spec.raw["Unit"]["X-Owner"][0].value == "ops"
    assert parsed.spec.raw["X-Health"]["Check"][0].value == "/bin/hc"


def test_unknown_unit_key_warns_with_file_line() -> None:
    parsed = parse_unit_text("[Unit]\nDescriptoin=x" + SVC, "t.service", "/u/t.service")
    (diag,) = parsed.diagnostics
    assert (diag.file, diag.line, diag.severity) == ("/u/t.service", 2, Severity.WARNING)
    assert "Descriptoin" in diag.message


def test_dropins_apply_in_order_with_their_own_file_names() -> None:
    result = parse_unit(
        "t.service",
        [
            UnitSource("/lib/t.service", "[Service]\nExecStart=/bin/a\nRestart=no\n"),
            UnitSource("/etc/t.service.d/10.conf", "[Service]\nExecStart=\nExecStart=/bin/b\n"),
            UnitSource("/etc/t.service.d/20.conf", "[Service]\nRestart=always\nBogus=1\n"),
        ],
    )
    assert result.spec is not None and result.spec.service is not None
    assert result.spec.service.exec_start[0].path == "/bin/b"
    assert result.spec.service.restart.value == "always"
    assert result.spec.dropin_paths == ("/etc/t.service.d/10.conf", "/etc/t.service.d/20.conf")
    assert [(d.file, d.line) for d in result.diagnostics] == [("/etc/t.service.d/20.conf", 3)]


def test_broken_header_in_a_dropin_refuses_the_unit() -> None:
    result = parse_unit(
        "t.service",
        [UnitSource("/lib/t.service", SVC), UnitSource("/etc/t.service.d/x.conf", "[Service\n")],
    )
    assert result.spec is None


def test_invalid_unit_name() -> None:
    result = parse_unit_text(SVC, "no-suffix")
    assert result.spec is None and result.diagnostics[0].severity is Severity.ERROR


def test_target_unit() -> None:
    spec = spec_of("[Unit]\nDescription=Multi\nRequires=basic.target\n", "multi-user.target")
    assert spec.kind is UnitKind.TARGET and spec.service is None


def _check_never_raises(result: ParseResult) -> None:
    for diag in result.diagnostics:
        assert diag.file and diag.line >= 0 and diag.message


LINES = st.sampled_from(
    [
        "[Unit]",
        "[Service]",
        "[Install]",
        "[Timer]",
        "[Bogus",
        "ExecStart=/bin/true",
        "ExecStart=-@/bin/x y $A ${B} 'q",
        "Type=oneshot",
        "Type=bogus",
        "Restart=always",
        "Environment=A=1 'B=2",
        "After=x.service %i",
        "RestartSec=1min 3",
        "LimitNOFILE=1:2",
        "WorkingDirectory=~",
        "ConditionPathExists=|!/x",
        "Description=%Q",
        "ProtectSystem=full",
        "\\",
        "# c",
        "",
    ]
)


@settings(max_examples=300)
@given(st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=25))
def test_random_unit_text_never_raises(lines: list[str]) -> None:
    for name in ("t.service", "t@i.service", "t.timer", "t.socket", "t.target"):
        _check_never_raises(parse_unit_text("\n".join(lines), name))


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check_never_raises(parse_unit_text(text, "t.service"))
