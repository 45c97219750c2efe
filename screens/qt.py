"""The one place Qt is imported from (Anki's aqt.qt): the rest of screens/ names Qt types from here."""
from PySide6.QtCore import (QCoreApplication, QEasingCurve, QEvent, QObject, QPoint, QPropertyAnimation, QRect,
                            QSize, Qt, QThread, QTimer, QTranslator, Signal, Slot, Property, QLocale)
from PySide6.QtGui import (QColor, QFont, QFontDatabase, QGuiApplication, QImage, QKeySequence, QPainter,
                           QPainterPath, QPen, QPixmap, QShortcut, QBrush)
from PySide6.QtWidgets import (QApplication, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QMainWindow,
                               QProgressBar, QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget,
                               QButtonGroup, QScrollArea, QSpacerItem, QAbstractButton)

__all__ = [n for n in dir() if n[0].isupper()]
