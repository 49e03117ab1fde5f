print("sendarix")
