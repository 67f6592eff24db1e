"""Contest activations (giveaways): rules, entries, suspicious patterns. Pure core."""
