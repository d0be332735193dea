from editio.cli import main

raise SystemExit(main())
