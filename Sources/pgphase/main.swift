print("pgphase")
