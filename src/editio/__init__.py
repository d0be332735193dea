"""editio: TEI P5 editions to a static HTML site and a PDF book.

Pipeline (see README): read -> check -> corpus -> transforms -> render -> build.
"""

__version__ = "0.1.0"

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_ID = "{%s}id" % XML_NS
XML_LANG = "{%s}lang" % XML_NS
