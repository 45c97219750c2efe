"""devices/pcsc"""
