"""Telling people what a command did, outside its own output: the failure webhook."""
