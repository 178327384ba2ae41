"""Pure tensor functions behind the efficient models; each fast op keeps a ``*_naive`` twin (a loop over time only,
vectorised over batch, heads and width) that the tests compare it with, on outputs and gradients."""
