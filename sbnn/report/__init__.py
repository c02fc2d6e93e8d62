"""Reports built from run directories: rows (:mod:`.collect`), tables, figures, the HTML page (:mod:`.build`)."""
