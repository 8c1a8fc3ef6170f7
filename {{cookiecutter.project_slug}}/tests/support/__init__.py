"""What the test layers share: the orders API as a client calls it (``api``), one way to build an
order (``orders``), the problem assertions (``problems``) and the app helpers of the in-process
layers (``apps``). Test modules import from here, never from another test module or a conftest."""
