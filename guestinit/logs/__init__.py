"""Service output and syslog messages on their way to guestinit's stdout.

Layout: ``syslog_parse`` turns one /dev/log datagram (RFC 3164, RFC 5424, or
the bare ``<PRI>text`` some libraries send) into a frozen SyslogMessage and is
pure; the receiver that owns the socket, the name-prefixing of lines and the
file copy with rotation sit beside it as separate modules, so the parsing can
be tested with captured datagrams and no socket.
"""
