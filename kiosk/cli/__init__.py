"""kiosk/cli"""
