"""National code tables (贯标 codes used by the fund's data standard, see reference/hpf-rules.md §1, §2, §6).

Every enum member has `.code` (the table code, a string), `.label_zh`, and the class has `.from_code(code)`.
Codes not in the national tables are marked LOCAL in their label comment and use the 8x range, which the
national tables leave free."""
from __future__ import annotations

from enum import Enum

from kiosk.domain.errors import UnknownCode


class CodeEnum(Enum):
    """Enum whose value is the national code; each member also carries its Chinese label."""

    def __new__(cls, code: str, label_zh: str):
        obj = object.__new__(cls)
        obj._value_ = code
        obj.label_zh = label_zh
        return obj

    @property
    def code(self) -> str:
        return self._value_

    @classmethod
    def from_code(cls, code: "str | int"):
        """Member for a code; accepts '1' or 1 for '01'. Raises UnknownCode otherwise."""
        text = str(code).strip()
        for candidate in (text, text.zfill(2)):
            try:
                return cls(candidate)
            except ValueError:
                continue
        raise UnknownCode("CODE_UNKNOWN", f"代码“{text}”不在{cls.__doc__.splitlines()[0] if cls.__doc__ else '代码表'}中",
                          f"unknown {cls.__name__} code {text!r}")

    @classmethod
    def table(cls) -> list[dict[str, str]]:
        """[{code, label_zh, name}] for catalogs and screens."""
        return [{"code": m.code, "label_zh": m.label_zh, "name": m.name} for m in cls]

    def __str__(self) -> str:
        return f"{self.code} {self.label_zh}"


class PersonAccountState(CodeEnum):
    """个人账户状态 GRZHZT"""
    NORMAL = "01", "正常"
    SEALED = "02", "封存"
    MERGED_CLOSED = "03", "合并销户"
    TRANSFERRED_OUT = "04", "外部转出销户"
    WITHDRAWN_CLOSED = "05", "提取销户"
    FROZEN = "06", "冻结"
    OTHER = "99", "其他"

    @property
    def is_closed(self) -> bool:
        return self in (PersonAccountState.MERGED_CLOSED, PersonAccountState.TRANSFERRED_OUT,
                        PersonAccountState.WITHDRAWN_CLOSED)


class UnitAccountState(CodeEnum):
    """单位账户状态 DWZHZT"""
    NORMAL = "01", "正常"
    OPENED = "02", "开户"
    DEFERRED = "03", "缓缴"
    CLOSED = "04", "销户"
    SEALED = "05", "封存"
    OTHER = "99", "其他"


class WithdrawalReason(CodeEnum):
    """提取原因 TQYY"""
    PURCHASE = "01", "购买住房"
    BUILD_REPAIR = "02", "建造、翻建、大修自住住房"
    RETIREMENT = "03", "离休、退休"
    INCAPACITY = "04", "完全丧失劳动能力并终止劳动关系"
    EMIGRATION = "05", "户口迁出所在市县或出境定居"
    LOAN_REPAYMENT = "06", "偿还购房贷款本息"
    RENT = "07", "房租超过家庭工资收入规定比例"
    DEATH = "08", "死亡"
    SERIOUS_ILLNESS = "09", "大病医疗"
    # LOCAL codes (not in the national table; cities list these grounds, reference §2):
    LIFT_INSTALLATION = "81", "既有住宅加装电梯"
    RENOVATION = "82", "老旧小区改造、住房装修"
    UNEMPLOYMENT = "83", "离职失业（封存满6个月）"
    OTHER = "99", "其他"

    @property
    def is_local(self) -> bool:
        return self.code.startswith("8")

    @property
    def closes_account(self) -> bool:
        """Grounds that pay out everything and close the account (销户提取)."""
        return self in _CLOSING_REASONS


_CLOSING_REASONS = frozenset({WithdrawalReason.RETIREMENT, WithdrawalReason.INCAPACITY,
                              WithdrawalReason.EMIGRATION, WithdrawalReason.DEATH,
                              WithdrawalReason.UNEMPLOYMENT})   # local ground: pays the balance and closes


class BusinessType(CodeEnum):
    """归集和提取业务类型 GJHTQYWLX"""
    REMITTANCE = "01", "汇缴"
    BACK_PAYMENT = "02", "补缴"
    OPEN = "03", "开户"
    UNSEAL = "04", "启封"
    SEAL = "05", "封存"
    INTERNAL_TRANSFER = "06", "内部转移"
    TRANSFER_OUT = "07", "外部转出"
    TRANSFER_IN = "08", "外部转入"
    YEAR_END_INTEREST = "09", "年终结息"
    BASE_ADJUSTMENT = "10", "基数调整"
    PARTIAL_WITHDRAWAL = "11", "部分提取"
    CLOSING_WITHDRAWAL = "12", "销户提取"
    DEFERRAL = "13", "缓缴"
    FREEZE = "14", "冻结"
    UNFREEZE = "15", "解冻"


class WithdrawalBusinessType(CodeEnum):
    """提取业务类型"""
    PARTIAL = "11", "部分提取"
    CLOSING = "12", "销户提取"


class WithdrawalMethod(CodeEnum):
    """提取方式 TQFS"""
    CASH = "01", "现金"
    TRANSFER = "02", "转账"


class RepaymentMethod(CodeEnum):
    """还款方式 DKHKFS"""
    EQUAL_INSTALLMENT = "01", "等额本息"
    EQUAL_PRINCIPAL = "02", "等额本金"
    BULLET = "03", "一次还本付息"
    FREE = "04", "自由还款"


class LoanDetailType(CodeEnum):
    """贷款明细类型"""
    DISBURSEMENT = "01", "发放"
    NORMAL_REPAYMENT = "02", "正常还款"
    PREPAYMENT = "03", "提前还款"
    OVERDUE_REPAYMENT = "04", "逾期还款"
    HPF_WITHDRAWAL_REPAYMENT = "05", "公积金提取还款"
    PAYOFF = "06", "结清"
    EXTENSION = "07", "展期"
    TERM_REDUCTION = "08", "缩期"
    WRITE_OFF = "09", "核销"


class GuaranteeType(CodeEnum):
    """担保类型 DKDBLX"""
    MORTGAGE = "01", "抵押"
    PLEDGE = "02", "质押"
    SURETY = "03", "保证"


class LoanRiskClass(CodeEnum):
    """贷款风险分类"""
    NORMAL = "01", "正常"
    SPECIAL_MENTION = "02", "关注"
    SUBSTANDARD = "03", "次级"
    DOUBTFUL = "04", "可疑"
    LOSS = "05", "损失"


class CertificateType(CodeEnum):
    """证件类型 ZJLX"""
    RESIDENT_ID = "01", "身份证"
    MILITARY_OFFICER = "02", "军官证"
    PASSPORT = "03", "护照"
    FOREIGN_PERMANENT_RESIDENCE = "04", "外国人永久居留证"
    OTHER = "99", "其他"


class Gender(CodeEnum):
    """性别 XingBie (GB/T 2261.1)"""
    MALE = "1", "男"
    FEMALE = "2", "女"
