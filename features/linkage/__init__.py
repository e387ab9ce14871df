"""Record linkage: the sources' own person records in, one case history per child out."""
