"""The kit every addon builds its GraphQL part with: global ids and inputs, cursor connections,
``Node``, preloading plans, permissions, mutations in one transaction, type extension.
Builds on ``core`` only."""
