from swampd.server.main import main

raise SystemExit(main())
