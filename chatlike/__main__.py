from chatlike.app import main

main()
