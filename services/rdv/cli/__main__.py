from rdv.cli.main import main

main()
