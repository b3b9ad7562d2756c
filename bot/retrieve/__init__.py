"""The retrieval stage: a question, or a reference paper, in; ranked papers with their best
sentence out."""
