from iapt_audit.launch import run

run()
