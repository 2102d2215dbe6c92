"""The only package that imports slixmpp: the client, stanza <-> model conversion, and one
module per protocol feature. It implements :class:`chinwag.core.ports.XmppConnection`."""
