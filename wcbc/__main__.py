from wcbc.cli import main

main()
