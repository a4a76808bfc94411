from rdv_tools.cli.main import main

main()
