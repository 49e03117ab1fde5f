import Dispatch
import Glibc
import Testing
@testable import DeliveryEngine

/// The delivery scheduler's priority (`delivery.schedulerPriority`): the docs promise nice 10, 2 and
/// 0 for `background`, `utility` and `default`; that is libdispatch's mapping on Linux, checked here
/// on a queue made as the coordinator makes its own.
@Suite("Delivery scheduler priority")
struct SchedulerPriorityTests {
    @Test("By default the scheduler queue runs below the listeners: .background, nice 10; utility 2; default 0")
    func mapping() async {
        #expect(DeliveryEngine.Options().schedulerQoS == .background)
        // `sync` runs on the caller's thread: hop through `async` to a worker, as the coordinator's blocks run.
        func onWorker(_ qos: DispatchQoS) async -> Int32 {
            await withCheckedContinuation { c in
                DispatchQueue(label: "test.scheduler.\(qos.qosClass)", qos: qos).async {
                    c.resume(returning: getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
                }
            }
        }
        let base = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #expect(await onWorker(.background) == 10)
        #expect(await onWorker(.utility) == 2)
        #expect(await onWorker(.default) == base)
    }
}
