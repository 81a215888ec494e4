from zpviz.cli import main

raise SystemExit(main())
