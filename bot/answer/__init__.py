"""The answering stage: ranked papers in, an Answer whose every citation quotes its paper."""
