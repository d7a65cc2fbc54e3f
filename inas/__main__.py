from inas.cli import main

main()
