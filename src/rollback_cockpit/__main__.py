from rollback_cockpit.tui.cli import main

raise SystemExit(main())
