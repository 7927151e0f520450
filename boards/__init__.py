"""lgn-hw boards: the board registry, the UART I/O wrapper around the core, and the host side.

``registry`` declares the boards and board-less targets (``lgn-hw boards`` lists them);
``uart`` is an 8N1 UART receiver/transmitter in Amaranth; ``protocol`` is the framing shared by
the hardware and the host; ``top`` wraps an ``LGNCore`` so that it talks over two pins; ``build``
runs a board build through Amaranth's ``Platform.build``; ``host`` and ``simport`` are the host
client (pyserial) and a serial port backed by the Amaranth simulation of the real design.
"""
