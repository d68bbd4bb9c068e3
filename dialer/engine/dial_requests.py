"""What one call of a campaign asks of the PBX: the campaign's dial settings and answer
handling, in the PBX link's terms (the link turns them into the dialplan's variables)."""

from __future__ import annotations

from dialer.campaign.model import AnswerAction, Campaign, NotSure
from dialer.pbx.dialplan_contract import AnswerPlan, DialRequest, MachineDetection


def answer_plan_of(campaign: Campaign, agi_address: str | None) -> AnswerPlan:
    on_answer = campaign.on_answer
    ivr = on_answer.action is AnswerAction.IVR
    queue = on_answer.queue if on_answer.action is AnswerAction.PLAY_AND_QUEUE else None
    queue_timeout = on_answer.queue_timeout
    pacing = campaign.pacing
    if pacing.operator_paced:
        # Regulators: an operator within connect_limit, or the compliance message.
        queue_timeout = min(queue_timeout, pacing.connect_limit)
    amd = on_answer.amd
    detection = None
    if amd.enabled:
        detection = MachineDetection(
            initial_silence=amd.initial_silence,
            greeting=amd.greeting,
            after_greeting_silence=amd.after_greeting_silence,
            total=amd.total,
            not_sure_is_machine=amd.not_sure is NotSure.MACHINE,
            machine_message=amd.machine_message or "",
            max_greeting=amd.max_greeting,
        )
    return AnswerPlan(
        # With an IVR script the message and the queue come from the script.
        message="" if ivr else on_answer.message,
        queue=queue or "",
        queue_timeout=queue_timeout,
        agi_address=agi_address if ivr and agi_address else "",
        compliance_message=(pacing.compliance_message or "") if pacing.operator_paced else "",
        amd=detection,
    )


def dial_request_of(
    campaign: Campaign, attempt_id: str, number: str, answer: AnswerPlan
) -> DialRequest:
    dial = campaign.dial
    return DialRequest(
        attempt_id=attempt_id,
        campaign=campaign.name,
        number=number,
        channel_template=dial.channel,
        context=dial.context,
        exten=dial.exten,
        priority=dial.priority,
        ring_timeout=dial.ring_timeout,
        caller_id=dial.caller_id,
        answer=answer,
        extra_variables=dial.variables,
    )
