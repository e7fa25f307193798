from iapt_audit.cli import main

main()
