from wcbc.cli.app import main

main()
