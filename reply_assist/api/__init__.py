"""HTTP controllers: parse, authorise, call one service function, shape the answer."""
