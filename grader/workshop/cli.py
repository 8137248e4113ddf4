"""The workshop's commands, added to ``python -m grader`` (see README "Workshop hosts").

- ``hub``: set up and start the JupyterHub;
- ``participants ROSTER.csv``: Unix accounts, hub users and gradebook students;
- ``release UNIT`` / ``release-feedback UNIT``: through nbgrader's exchange.
"""


def _workshop(course, args):
    from grader.workshop.layout import Workshop

    return Workshop(course, args.folder)


def _hub(course, args):
    from grader.workshop import hub

    workshop = _workshop(course, args)
    s = hub.setup(workshop, ip=args.ip, port=args.port, hub_port=args.hub_port,
                  proxy_api_port=args.proxy_api_port, admins=args.admin,
                  mem_limit=args.mem_limit, cpu_limit=args.cpu_limit,
                  cull_timeout=args.cull_timeout, cull_every=args.cull_every, data=args.data,
                  home_base=args.home_base, uid_base=args.uid_base, pids_limit=args.pids_limit,
                  home_size=args.home_size)
    print(f"workshop set up in {workshop.folder}; exchange {s['exchange']}")
    return 0 if args.setup_only else hub.run(workshop)


def _participants(course, args):
    from grader.workshop.accounts import add_participants

    done = add_participants(_workshop(course, args), args.roster)
    gb = done["gradebook"]
    print(f"{len(done['accounts'])} participant(s): Unix accounts ready; hub: {done['hub']}; "
          f"gradebook: {len(gb['added'])} added, {len(gb['updated'])} updated, "
          f"{len(gb['unchanged'])} unchanged")
    print("Each participant sets their password at their first login (8 characters or more).")
    return 0


def _release(course, args):
    from grader.workshop.exchange import release

    course.require_unit(args.unit)
    print(f"{args.unit}: released to {release(course, args.unit)}")
    return 0


def _release_feedback(course, args):
    from grader.workshop.exchange import release_feedback

    done = release_feedback(course, args.unit)
    print(f"{args.unit}: feedback released to {len(done['released'])} student(s) through the "
          "exchange")
    for student, reason in sorted(done["skipped"].items()):
        print(f"  skipped {student}: {reason}")
    return 0


def add_commands(sub):
    """Add the workshop's subcommands to the ``python -m grader`` parser ``sub``."""
    folder = {"help": "the workshop's state folder (default /srv/dlcourse-hub)"}
    h = sub.add_parser("hub", help="set up and start the workshop's JupyterHub (as root)")
    h.add_argument("--folder", **folder)
    h.add_argument("--ip", help="address to listen on (default 0.0.0.0)")
    h.add_argument("--port", type=int, help="port participants open (default 8000)")
    h.add_argument("--hub-port", type=int, help="the hub's internal port (default 8081)")
    h.add_argument("--proxy-api-port", type=int, help="the proxy's API port (default 8001)")
    h.add_argument("--admin", action="append", help="an instructor's user name (repeatable)")
    h.add_argument("--mem-limit", help="memory of each participant's server (default 4G)")
    h.add_argument("--cpu-limit", type=float, help="cores of each server (default 1)")
    h.add_argument("--pids-limit", type=int, help="processes and threads of each server "
                   "(default 1024; 0: no limit)")
    h.add_argument("--home-size", help="size of each participant's home file system "
                   "(default 2G; 0: no disk limit)")
    h.add_argument("--cull-timeout", type=int, help="stop servers idle this many seconds "
                   "(default 3600)")
    h.add_argument("--cull-every", type=int, help="check for idle servers every N s (default 300)")
    h.add_argument("--data", help="the MNIST file participants' notebooks load (DLCOURSE_DATA)")
    h.add_argument("--home-base", help="where participants' homes are made (default /home)")
    h.add_argument("--uid-base", type=int, help="first uid of new accounts (default: useradd's)")
    h.add_argument("--setup-only", action="store_true", help="set up, do not start")
    h.set_defaults(run=_hub)

    p = sub.add_parser("participants", help="add a roster's people to the hub and gradebook")
    p.add_argument("roster", help="CSV with the columns id, name, email")
    p.add_argument("--folder", **folder)
    p.set_defaults(run=_participants)

    r = sub.add_parser("release", help="release a unit's exercise through nbgrader's exchange")
    r.add_argument("unit")
    r.set_defaults(run=_release)

    f = sub.add_parser("release-feedback", help="release a unit's feedback through the exchange")
    f.add_argument("unit")
    f.set_defaults(run=_release_feedback)
