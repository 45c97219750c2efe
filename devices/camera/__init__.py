"""devices/camera"""
