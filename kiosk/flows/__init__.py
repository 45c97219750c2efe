"""kiosk/flows"""
