from streetwatch.cli import main

raise SystemExit(main())
