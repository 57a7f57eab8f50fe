"""The argos app's tiny HTTP service: serves its www folder on ADDRESS:PORT.

Usage: argos-httpd.py ADDRESS PORT DIRECTORY
"""
import functools
import http.server
import socketserver
import sys


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        # Skip http.server's reverse DNS lookup of the address: it can stall start-up for
        # many seconds on a host without a resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    address, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    with Server((address, port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
