"""The classifiers (nn.Modules only): the recurrent family, the bag of embeddings, the seed's written-out cells, dropout."""
