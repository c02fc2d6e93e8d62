"""Sparsity sweeps: the grid (:mod:`.config`), one point's pipeline (:mod:`.point`), the executors
(:mod:`.executors`), the driver (:mod:`.driver`) and the optional FINN baseline (:mod:`.finn`)."""
