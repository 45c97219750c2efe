<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US" sourcelanguage="zh_CN">
<context>
    <name>hpf</name>
    <message numerus="yes">
        <source>%n 秒后自动退出</source>
        <translation>
            <numerusform>Ending in %n second</numerusform>
            <numerusform>Ending in %n seconds</numerusform>
        </translation>
    </message>
    <message>
        <source>English</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>上一页</source>
        <translation>Previous</translation>
    </message>
    <message>
        <source>下一页</source>
        <translation>Next</translation>
    </message>
    <message>
        <source>为保护您的信息，长时间未操作将自动退出。如需继续，请点击“继续办理”。</source>
        <translation>To protect your information, the session ends after a period without activity. Tap Continue to keep going.</translation>
    </message>
    <message>
        <source>为保护您的密码，数字键位置每次随机排列</source>
        <translation>To protect your password, the keys are in a new random order each time</translation>
    </message>
    <message>
        <source>关爱模式</source>
        <translation>Care mode</translation>
    </message>
    <message>
        <source>取消</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>呼叫人工</source>
        <translation>Call staff</translation>
    </message>
    <message>
        <source>呼叫工作人员协助</source>
        <translation>Ask staff for help</translation>
    </message>
    <message>
        <source>在线</source>
        <translation>Online</translation>
    </message>
    <message>
        <source>完成</source>
        <translation>Finish</translation>
    </message>
    <message>
        <source>工作人员将尽快到达，请在此稍候</source>
        <translation>Staff will be with you shortly, please wait here</translation>
    </message>
    <message numerus="yes">
        <source>待上传 %n 笔</source>
        <translation>
            <numerusform>%n item to upload</numerusform>
            <numerusform>%n items to upload</numerusform>
        </translation>
    </message>
    <message>
        <source>您好，请选择要办理的业务</source>
        <translation>Welcome. Please choose a service</translation>
    </message>
    <message>
        <source>您还在吗？</source>
        <translation>Are you still there?</translation>
    </message>
    <message>
        <source>无需身份核验</source>
        <translation>No identification needed</translation>
    </message>
    <message>
        <source>标准模式</source>
        <translation>Standard mode</translation>
    </message>
    <message>
        <source>正在核验，请稍候…</source>
        <translation>Checking, please wait…</translation>
    </message>
    <message>
        <source>清空</source>
        <translation>Clear</translation>
    </message>
    <message>
        <source>确认</source>
        <translation>Confirm</translation>
    </message>
    <message>
        <source>离线</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>等待中…</source>
        <translation>Waiting…</translation>
    </message>
    <message>
        <source>继续办理</source>
        <translation>Continue</translation>
    </message>
    <message>
        <source>该业务的办理功能即将开放，请点击“完成”结束本次服务</source>
        <translation>This service will open soon. Tap Finish to end this visit</translation>
    </message>
    <message>
        <source>请输入短信中的6位验证码</source>
        <translation>Enter the 6-digit code from the SMS</translation>
    </message>
    <message>
        <source>身份证 + 公积金查询密码</source>
        <translation>ID card + HPF query password</translation>
    </message>
    <message>
        <source>身份证 + 短信验证码</source>
        <translation>ID card + SMS code</translation>
    </message>
    <message>
        <source>返回</source>
        <translation>Back</translation>
    </message>
    <message>
        <source>返回选择其他方式</source>
        <translation>Back to other options</translation>
    </message>
    <message>
        <source>返回首页</source>
        <translation>Back to home</translation>
    </message>
    <message>
        <source>退出</source>
        <translation>Leave</translation>
    </message>
    <message>
        <source>重新发送</source>
        <translation>Send again</translation>
    </message>
    <message>
        <source>首页</source>
        <translation>Home</translation>
    </message>
</context>
</TS>
